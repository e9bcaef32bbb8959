using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol;

public sealed partial class Socks5ParserTests
{
    /// <summary>VER 1, ULEN 5 "alice", PLEN 6 "secret".</summary>
    private static readonly byte[] _credentials = [0x01, 5, .. "alice"u8, 6, .. "secret"u8];

    public static TheoryData<int, int> CredentialLengths => new()
    {
        { 0, 0 },
        { 0, 255 },
        { 255, 0 },
        { 1, 1 },
        { 255, 255 },
    };

    [Fact]
    public void TryParseUsernamePassword_Whole_ReadsBothFields()
    {
        var request = ParserAssert.ParsesWhole<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, _credentials);

        Assert.Equal("alice"u8.ToArray(), request.Username.ToArray());
        Assert.Equal("secret"u8.ToArray(), request.Password.ToArray());
    }

    [Fact]
    public void TryParseUsernamePassword_EverySplit_ReadsBothFields()
    {
        ParserAssert.ParsesInEveryShape<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, _credentials, request =>
        {
            Assert.Equal("alice"u8.ToArray(), request.Username.ToArray());
            Assert.Equal("secret"u8.ToArray(), request.Password.ToArray());
        });
    }

    [Fact]
    public void TryParseUsernamePassword_EveryTruncatedPrefix_NeedsMore()
    {
        ParserAssert.NeedsMoreForEveryPrefix<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, _credentials);
    }

    [Fact]
    public void TryParseUsernamePassword_WithPipelinedRequest_ConsumesOnlyTheCredentials()
    {
        byte[] request = [0x05, 0x01, 0x00, 0x03, 1, (byte)'h', 0x00, 0x50];
        ParserAssert.ParsesPipelined<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, _credentials, request, parsed =>
        {
            Assert.Equal("alice"u8.ToArray(), parsed.Username.ToArray());
            Assert.Equal("secret"u8.ToArray(), parsed.Password.ToArray());
        });
    }

    [Theory]
    [MemberData(nameof(CredentialLengths))]
    public void TryParseUsernamePassword_FieldLengthsFrom0To255_ReadEveryByte(int usernameLength, int passwordLength)
    {
        var username = Enumerable.Range(0, usernameLength).Select(i => (byte)('a' + (i % 26))).ToArray();
        var password = Enumerable.Range(0, passwordLength).Select(i => (byte)(255 - i)).ToArray();
        byte[] message = [0x01, (byte)usernameLength, .. username, (byte)passwordLength, .. password];

        ParserAssert.ParsesInEveryShape<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, message, request =>
        {
            Assert.Equal(username, request.Username.ToArray());
            Assert.Equal(password, request.Password.ToArray());
        });
        ParserAssert.ParsesPipelined<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, message, [0x05], request =>
        {
            Assert.Equal(username, request.Username.ToArray());
            Assert.Equal(password, request.Password.ToArray());
        });
        ParserAssert.NeedsMoreForEveryPrefix<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, message);
    }

    [Fact]
    public void TryParseUsernamePassword_BadSubnegotiationVersion_ThrowsInvalidSubnegotiationVersion()
    {
        // 5 is the usual mistake: a client that sends the SOCKS version instead of the sub-negotiation version.
        foreach (var version in AllBytesExcept(Socks5Constants.UsernamePasswordVersion))
        {
            ParserAssert.Throws<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, [version], Socks5Error.InvalidSubnegotiationVersion);
            ParserAssert.Throws<UsernamePasswordRequest>(
                Socks5Parser.TryParseUsernamePassword, [version, 1, (byte)'u', 1, (byte)'p'], Socks5Error.InvalidSubnegotiationVersion);
        }
    }

    [Theory]
    [InlineData(0x00, 0)]
    [InlineData(0x01, 1)]
    [InlineData(0x02, 2)]
    [InlineData(0xFF, 255)]
    public void TryParseUsernamePasswordStatus_WholeAndEverySplit_ReadsStatus(byte value, int expected)
    {
        byte[] message = [0x01, value];

        Assert.Equal(expected, ParserAssert.ParsesWhole<byte>(Socks5Parser.TryParseUsernamePasswordStatus, message));
        ParserAssert.ParsesInEveryShape<byte>(Socks5Parser.TryParseUsernamePasswordStatus, message, status => Assert.Equal(expected, status));
    }

    [Fact]
    public void TryParseUsernamePasswordStatus_EveryTruncatedPrefix_NeedsMore()
    {
        ParserAssert.NeedsMoreForEveryPrefix<byte>(Socks5Parser.TryParseUsernamePasswordStatus, [0x01, 0x00]);
    }

    [Fact]
    public void TryParseUsernamePasswordStatus_WithPipelinedReply_ConsumesOnlyTwoBytes()
    {
        byte[] reply = [0x05, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x1F, 0x90];
        ParserAssert.ParsesPipelined<byte>(Socks5Parser.TryParseUsernamePasswordStatus, [0x01, 0x00], reply, status => Assert.Equal(0, status));
    }

    [Fact]
    public void TryParseUsernamePasswordStatus_BadVersion_ThrowsInvalidSubnegotiationVersion()
    {
        foreach (var version in AllBytesExcept(Socks5Constants.UsernamePasswordVersion))
        {
            ParserAssert.Throws<byte>(Socks5Parser.TryParseUsernamePasswordStatus, [version], Socks5Error.InvalidSubnegotiationVersion);
            ParserAssert.Throws<byte>(Socks5Parser.TryParseUsernamePasswordStatus, [version, 0x00], Socks5Error.InvalidSubnegotiationVersion);
        }
    }
}
