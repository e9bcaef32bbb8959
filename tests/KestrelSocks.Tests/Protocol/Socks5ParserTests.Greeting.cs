using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol;

public sealed partial class Socks5ParserTests
{
    /// <summary>VER 5, NMETHODS 2: no authentication and username/password.</summary>
    private static readonly byte[] _greeting = [0x05, 0x02, 0x00, 0x02];

    [Fact]
    public void TryParseGreeting_Whole_ReadsOfferedMethods()
    {
        var greeting = ParserAssert.ParsesWhole<Greeting>(Socks5Parser.TryParseGreeting, _greeting);

        AssertOffersNoAuthAndUsernamePassword(greeting);
    }

    [Fact]
    public void TryParseGreeting_EverySplit_ReadsOfferedMethods()
    {
        ParserAssert.ParsesInEveryShape<Greeting>(Socks5Parser.TryParseGreeting, _greeting, AssertOffersNoAuthAndUsernamePassword);
    }

    [Fact]
    public void TryParseGreeting_EveryTruncatedPrefix_NeedsMore()
    {
        ParserAssert.NeedsMoreForEveryPrefix<Greeting>(Socks5Parser.TryParseGreeting, _greeting);
    }

    [Fact]
    public void TryParseGreeting_WithPipelinedRequest_ConsumesOnlyTheGreeting()
    {
        // A client that expects "no authentication" may send its CONNECT request without waiting.
        byte[] request = [0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x00, 0x50];
        ParserAssert.ParsesPipelined<Greeting>(Socks5Parser.TryParseGreeting, _greeting, request, AssertOffersNoAuthAndUsernamePassword);
    }

    [Fact]
    public void TryParseGreeting_BadVersion_ThrowsInvalidVersion()
    {
        foreach (var version in AllBytesExcept(Socks5Constants.Version))
        {
            // The version byte alone decides: SOCKS4, TLS or HTTP is refused before more bytes arrive.
            ParserAssert.Throws<Greeting>(Socks5Parser.TryParseGreeting, [version], Socks5Error.InvalidVersion);
            ParserAssert.Throws<Greeting>(Socks5Parser.TryParseGreeting, [version, 0x02, 0x00, 0x02], Socks5Error.InvalidVersion);
        }
    }

    [Fact]
    public void TryParseGreeting_255Methods_ReadsEveryMethod()
    {
        byte[] greeting = [0x05, 255, .. Enumerable.Range(0, 255).Select(value => (byte)value)];

        ParserAssert.ParsesInEveryShape<Greeting>(Socks5Parser.TryParseGreeting, greeting, parsed =>
        {
            for (var method = 0; method < 255; method++)
            {
                Assert.True(parsed.Methods.Contains((AuthMethod)method), $"Method {method} is missing.");
            }

            Assert.False(parsed.Methods.Contains(AuthMethod.NoAcceptableMethods));
        });
        ParserAssert.NeedsMoreForEveryPrefix<Greeting>(Socks5Parser.TryParseGreeting, greeting);
    }

    [Fact]
    public void TryParseGreeting_255Methods_WithPipelinedBytes_ConsumesExactly257Bytes()
    {
        byte[] greeting = [0x05, 255, .. Enumerable.Repeat((byte)0x02, 255)];

        ParserAssert.ParsesPipelined<Greeting>(Socks5Parser.TryParseGreeting, greeting, [0x01, 0x00], parsed =>
        {
            Assert.True(parsed.Methods.Contains(AuthMethod.UsernamePassword));
            Assert.False(parsed.Methods.Contains(AuthMethod.NoAuthentication));
        });
    }

    [Fact]
    public void TryParseGreeting_ZeroMethods_ParsesAsAnEmptySet()
    {
        // RFC 1928 asks for 1 to 255 methods; an empty list parses, and the session answers it with X'FF'.
        ParserAssert.ParsesInEveryShape<Greeting>(Socks5Parser.TryParseGreeting, [0x05, 0x00], greeting => Assert.True(greeting.Methods.IsEmpty));
    }

    [Fact]
    public void TryParseGreeting_OnlyGssapi_DoesNotOfferOtherMethods()
    {
        ParserAssert.ParsesInEveryShape<Greeting>(Socks5Parser.TryParseGreeting, [0x05, 0x01, 0x01], greeting =>
        {
            Assert.False(greeting.Methods.IsEmpty);
            Assert.True(greeting.Methods.Contains(AuthMethod.Gssapi));
            Assert.False(greeting.Methods.Contains(AuthMethod.NoAuthentication));
            Assert.False(greeting.Methods.Contains(AuthMethod.UsernamePassword));
        });
    }

    private static void AssertOffersNoAuthAndUsernamePassword(Greeting greeting)
    {
        Assert.True(greeting.Methods.Contains(AuthMethod.NoAuthentication));
        Assert.True(greeting.Methods.Contains(AuthMethod.UsernamePassword));
        Assert.False(greeting.Methods.Contains(AuthMethod.Gssapi));
        Assert.False(greeting.Methods.Contains(AuthMethod.NoAcceptableMethods));
    }
}
