using System.Net;
using System.Text;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Abuse;

/// <summary>
/// Destinations the resolver cannot take still get a REP code and a graceful close, with no error logged: names of
/// 254 and 255 bytes (legal in SOCKS, too long for DNS), names that are not UTF-8, names that are unspecified
/// addresses in text. Names that are addresses are that address, and IPv4-mapped destinations are dialled as IPv4.
/// </summary>
public sealed class DestinationNameTests
{
    private readonly ITestOutputHelper _output;

    public DestinationNameTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string, byte> UnresolvableNames => new()
    {
        { "254 ASCII bytes", (byte)ReplyCode.HostUnreachable },
        { "255 ASCII bytes", (byte)ReplyCode.HostUnreachable },
        { "255 bytes of invalid UTF-8", (byte)ReplyCode.HostUnreachable },
        { "0", (byte)ReplyCode.ConnectionNotAllowed },
        { "00", (byte)ReplyCode.ConnectionNotAllowed },
        { "0x0", (byte)ReplyCode.ConnectionNotAllowed },
        { "0.0.0.0", (byte)ReplyCode.ConnectionNotAllowed },
        { "::", (byte)ReplyCode.ConnectionNotAllowed },
        { "[::]", (byte)ReplyCode.ConnectionNotAllowed },
    };

    [Theory]
    [MemberData(nameof(UnresolvableNames))]
    public async Task Connect_ToANameTheResolverRejects_IsAnsweredAndClosed(string name, byte expected)
    {
        await using var host = await ProxyHost.StartAsync(_output);
        foreach (var command in new[] { Socks5Command.Connect, Socks5Command.Bind })
        {
            await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
            Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
            var reply = await client.RequestAsync(command, new Socks5Address(AddressType.DomainName, NameBytes(name), 80));

            // BIND names the peer it expects: an unspecified one is "any peer", refused by default like 0.0.0.0.
            Assert.Equal((ReplyCode)expected, reply.Reply);
            var end = await client.ReadUntilClosedAsync();
            Assert.False(end.WasReset, $"{command} to '{name}' was reset");
            Assert.Empty(end.Data);
        }

        Assert.Empty(host.Logs.Errors);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "connect"), ("socks_reply", MetricNameOf((ReplyCode)expected)));
    }

    [Theory]
    [InlineData("127.1")]
    [InlineData("2130706433")]
    [InlineData("0x7f000001")]
    [InlineData("0177.0.0.1")]
    public async Task Connect_ToANameThatIsAnAddress_ConnectsToThatAddress(string name)
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));

        var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromDomainName(name, (ushort)echo.EndPoint.Port));

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        await ConnectTests.AssertEchoesAsync(client, Encoding.ASCII.GetBytes(name));
    }

    [Fact]
    public async Task Connect_ToAnIPv4MappedAddress_DialsIPv4()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));

        var mapped = new IPEndPoint(echo.EndPoint.Address.MapToIPv6(), echo.EndPoint.Port);
        var reply = await client.RequestAsync(Socks5Command.Connect, new Socks5Address(AddressType.IPv6, mapped.Address.GetAddressBytes(), (ushort)mapped.Port));

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        Assert.Equal(AddressType.IPv4, reply.BoundAddress.Type);
        await ConnectTests.AssertEchoesAsync(client, "mapped"u8.ToArray());
    }

    private static byte[] NameBytes(string name) => name switch
    {
        "254 ASCII bytes" => Encoding.ASCII.GetBytes($"{new string('a', 63)}.{new string('a', 63)}.{new string('a', 63)}.{new string('a', 62)}"),
        "255 ASCII bytes" => Encoding.ASCII.GetBytes(new string('b', 255)),
        "255 bytes of invalid UTF-8" => Enumerable.Repeat((byte)0xFF, 255).ToArray(),
        _ => Encoding.ASCII.GetBytes(name),
    };

    private static string MetricNameOf(ReplyCode reply) => reply switch
    {
        ReplyCode.HostUnreachable => "host_unreachable",
        ReplyCode.ConnectionNotAllowed => "connection_not_allowed",
        _ => reply.ToString(),
    };
}
