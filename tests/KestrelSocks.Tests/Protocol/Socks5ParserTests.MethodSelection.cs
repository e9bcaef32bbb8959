using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol;

public sealed partial class Socks5ParserTests
{
    [Theory]
    [InlineData(0x00, nameof(AuthMethod.NoAuthentication))]
    [InlineData(0x01, nameof(AuthMethod.Gssapi))]
    [InlineData(0x02, nameof(AuthMethod.UsernamePassword))]
    [InlineData(0xFF, nameof(AuthMethod.NoAcceptableMethods))]
    public void TryParseMethodSelection_WholeAndEverySplit_ReadsMethod(byte value, string method)
    {
        var expected = Enum.Parse<AuthMethod>(method);
        byte[] message = [0x05, value];

        Assert.Equal(expected, ParserAssert.ParsesWhole<AuthMethod>(Socks5Parser.TryParseMethodSelection, message));
        ParserAssert.ParsesInEveryShape<AuthMethod>(Socks5Parser.TryParseMethodSelection, message, method => Assert.Equal(expected, method));
    }

    [Fact]
    public void TryParseMethodSelection_AnyMethodByte_IsKeptAsIs()
    {
        for (var value = 0; value < 256; value++)
        {
            Assert.Equal(value, (int)ParserAssert.ParsesWhole<AuthMethod>(Socks5Parser.TryParseMethodSelection, [0x05, (byte)value]));
        }
    }

    [Fact]
    public void TryParseMethodSelection_EveryTruncatedPrefix_NeedsMore()
    {
        ParserAssert.NeedsMoreForEveryPrefix<AuthMethod>(Socks5Parser.TryParseMethodSelection, [0x05, 0x02]);
    }

    [Fact]
    public void TryParseMethodSelection_WithPipelinedStatus_ConsumesOnlyTwoBytes()
    {
        ParserAssert.ParsesPipelined<AuthMethod>(
            Socks5Parser.TryParseMethodSelection, [0x05, 0x02], [0x01, 0x00], method => Assert.Equal(AuthMethod.UsernamePassword, method));
    }

    [Fact]
    public void TryParseMethodSelection_BadVersion_ThrowsInvalidVersion()
    {
        foreach (var version in AllBytesExcept(Socks5Constants.Version))
        {
            ParserAssert.Throws<AuthMethod>(Socks5Parser.TryParseMethodSelection, [version], Socks5Error.InvalidVersion);
            ParserAssert.Throws<AuthMethod>(Socks5Parser.TryParseMethodSelection, [version, 0x00], Socks5Error.InvalidVersion);
        }
    }
}
