using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol;

public sealed partial class Socks5ParserTests
{
    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryParseRequest_WholeAndEverySplit_ReadsCommandAndDestination(string expected, byte[] address)
    {
        byte[] message = [0x05, 0x01, 0x00, .. address];

        var request = ParserAssert.ParsesWhole<Socks5Request>(Socks5Parser.TryParseRequest, message);
        Assert.Equal((byte)Socks5Command.Connect, request.Command);
        AssertAddress(expected, address, request.Destination);

        ParserAssert.ParsesInEveryShape<Socks5Request>(Socks5Parser.TryParseRequest, message, parsed =>
        {
            Assert.Equal((byte)Socks5Command.Connect, parsed.Command);
            AssertAddress(expected, address, parsed.Destination);
        });
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryParseRequest_EveryTruncatedPrefix_NeedsMore(string expected, byte[] address)
    {
        Assert.NotEmpty(expected);
        ParserAssert.NeedsMoreForEveryPrefix<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, 0x00, .. address]);
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryParseRequest_WithPipelinedPayload_ConsumesOnlyTheRequest(string expected, byte[] address)
    {
        // An optimistic client sends its first payload (here a TLS ClientHello start) right behind the request.
        byte[] payload = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01];
        ParserAssert.ParsesPipelined<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x03, 0x00, .. address], payload, request =>
        {
            Assert.Equal((byte)Socks5Command.UdpAssociate, request.Command);
            AssertAddress(expected, address, request.Destination);
        });
    }

    [Fact]
    public void TryParseRequest_AnyCommandByte_ParsesSoTheServerCanAnswer07()
    {
        for (var command = 0; command < 256; command++)
        {
            var request = ParserAssert.ParsesWhole<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, (byte)command, 0x00, 0x01, 10, 0, 0, 1, 0x00, 0x50]);

            Assert.Equal(command, request.Command);
            Assert.Equal(command is 1 or 2 or 3, request.IsKnownCommand);
        }
    }

    [Fact]
    public void TryParseRequest_BadVersion_ThrowsInvalidVersion()
    {
        foreach (var version in AllBytesExcept(Socks5Constants.Version))
        {
            ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [version], Socks5Error.InvalidVersion);
            ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [version, 0x01, 0x00, 0x01, 10, 0, 0, 1, 0x00, 0x50], Socks5Error.InvalidVersion);
        }
    }

    [Fact]
    public void TryParseRequest_NonZeroReserved_ThrowsInvalidReserved()
    {
        foreach (var reserved in AllBytesExcept(Socks5Constants.Reserved))
        {
            ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, reserved], Socks5Error.InvalidReserved);
            ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, reserved, 0x01, 10, 0, 0, 1, 0x00, 0x50], Socks5Error.InvalidReserved);
        }
    }

    [Fact]
    public void TryParseRequest_UnknownAddressType_ThrowsUnsupportedAddressType()
    {
        foreach (var type in UnknownAddressTypes)
        {
            ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, 0x00, type], Socks5Error.UnsupportedAddressType);
            ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, 0x00, type, 10, 0, 0, 1, 0x00, 0x50], Socks5Error.UnsupportedAddressType);
        }
    }

    [Fact]
    public void TryParseRequest_ZeroLengthDomain_ThrowsEmptyDomainName()
    {
        ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, 0x00, 0x03, 0x00], Socks5Error.EmptyDomainName);
        ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50], Socks5Error.EmptyDomainName);
    }

    [Fact]
    public void TryParseRequest_EarlierFieldErrorsWin()
    {
        // Fields are checked in wire order, so the first bad field names the error.
        ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x04, 0x01, 0x01, 0x02], Socks5Error.InvalidVersion);
        ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, 0x01, 0x02], Socks5Error.InvalidReserved);
        ParserAssert.Throws<Socks5Request>(Socks5Parser.TryParseRequest, [0x05, 0x01, 0x00, 0x02, 0x00], Socks5Error.UnsupportedAddressType);
    }
}
