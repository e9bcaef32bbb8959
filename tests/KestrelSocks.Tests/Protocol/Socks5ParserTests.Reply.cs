using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol;

public sealed partial class Socks5ParserTests
{
    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryParseReply_WholeAndEverySplit_ReadsCodeAndBoundAddress(string expected, byte[] address)
    {
        byte[] message = [0x05, 0x05, 0x00, .. address];

        var reply = ParserAssert.ParsesWhole<Socks5Reply>(Socks5Parser.TryParseReply, message);
        Assert.Equal(ReplyCode.ConnectionRefused, reply.Reply);
        AssertAddress(expected, address, reply.BoundAddress);

        ParserAssert.ParsesInEveryShape<Socks5Reply>(Socks5Parser.TryParseReply, message, parsed =>
        {
            Assert.Equal(ReplyCode.ConnectionRefused, parsed.Reply);
            AssertAddress(expected, address, parsed.BoundAddress);
        });
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryParseReply_EveryTruncatedPrefix_NeedsMore(string expected, byte[] address)
    {
        Assert.NotEmpty(expected);
        ParserAssert.NeedsMoreForEveryPrefix<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, 0x00, .. address]);
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryParseReply_WithTunnelBytesBehind_ConsumesOnlyTheReply(string expected, byte[] address)
    {
        // The server may send the first relayed bytes in the same segment as the reply.
        var payload = "HTTP/1.1 200 OK\r\n"u8.ToArray();
        ParserAssert.ParsesPipelined<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, 0x00, .. address], payload, reply =>
        {
            Assert.Equal(ReplyCode.Succeeded, reply.Reply);
            AssertAddress(expected, address, reply.BoundAddress);
        });
    }

    [Fact]
    public void TryParseReply_EveryReplyCode_IsRead()
    {
        foreach (var code in Enum.GetValues<ReplyCode>())
        {
            var reply = ParserAssert.ParsesWhole<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, (byte)code, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00]);

            Assert.Equal(code, reply.Reply);
            Assert.True(reply.BoundAddress.IsUnspecifiedIP);
        }

        // Codes RFC 1928 leaves unassigned are read as they are; what they mean is the caller's business.
        Assert.Equal((ReplyCode)0x09, ParserAssert.ParsesWhole<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x09, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00]).Reply);
    }

    [Fact]
    public void TryParseReply_BadVersion_ThrowsInvalidVersion()
    {
        foreach (var version in AllBytesExcept(Socks5Constants.Version))
        {
            ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [version], Socks5Error.InvalidVersion);
            ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [version, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x00, 0x50], Socks5Error.InvalidVersion);
        }
    }

    [Fact]
    public void TryParseReply_NonZeroReserved_ThrowsInvalidReserved()
    {
        foreach (var reserved in AllBytesExcept(Socks5Constants.Reserved))
        {
            ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, reserved], Socks5Error.InvalidReserved);
            ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, reserved, 0x01, 10, 0, 0, 1, 0x00, 0x50], Socks5Error.InvalidReserved);
        }
    }

    [Fact]
    public void TryParseReply_UnknownAddressType_ThrowsUnsupportedAddressType()
    {
        foreach (var type in UnknownAddressTypes)
        {
            ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, 0x00, type], Socks5Error.UnsupportedAddressType);
            ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, 0x00, type, 10, 0, 0, 1, 0x00, 0x50], Socks5Error.UnsupportedAddressType);
        }
    }

    [Fact]
    public void TryParseReply_ZeroLengthDomain_ThrowsEmptyDomainName()
    {
        ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, 0x00, 0x03, 0x00], Socks5Error.EmptyDomainName);
        ParserAssert.Throws<Socks5Reply>(Socks5Parser.TryParseReply, [0x05, 0x00, 0x00, 0x03, 0x00, 0x00, 0x50], Socks5Error.EmptyDomainName);
    }
}
