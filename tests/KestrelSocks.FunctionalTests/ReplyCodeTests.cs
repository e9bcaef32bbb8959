using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Every REP code of RFC 1928 section 6 that can be provoked on loopback, each followed by a close.</summary>
public sealed class ReplyCodeTests
{
    private readonly ITestOutputHelper _output;

    public ReplyCodeTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Connect_ToClosedPort_RepliesConnectionRefused()
    {
        await using var host = await ProxyHost.StartAsync(_output);

        // Bound but not listening: the kernel answers a SYN with RST, and nobody else can take the port meanwhile.
        using var closedPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closedPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        await AssertConnectFailsAsync(host, Socks5Address.FromEndPoint((IPEndPoint)closedPort.LocalEndPoint!), ReplyCode.ConnectionRefused);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "connect"), ("socks_reply", "connection_refused"));
    }

    [Fact]
    public async Task Connect_ToNameThatDoesNotResolve_RepliesHostUnreachable()
    {
        // The host's clock never moves, so the connect timeout cannot be what ends the request.
        await using var host = await ProxyHost.StartAsync(_output, new FakeTimeProvider());

        // .invalid is reserved (RFC 2606): the resolver fails at once instead of waiting for the connect timeout.
        await AssertConnectFailsAsync(host, Socks5Address.FromDomainName("nonexistent.invalid", 80), ReplyCode.HostUnreachable);
    }

    [Fact]
    public async Task Connect_WhenDestinationNeverAnswers_RepliesTtlExpiredAfterConnectTimeout()
    {
        var clock = new FakeTimeProvider();
        var connectTimeout = TimeSpan.FromSeconds(30);
        // The handshake timeout is out of the way: the clock moves before the proxy may have read the request.
        await using var host = await ProxyHost.StartAsync(_output, clock,
            $"--KestrelSocks:Limits:ConnectTimeout={connectTimeout}", "--KestrelSocks:Limits:HandshakeTimeout=01:00:00");
        await using var silent = await FullBacklogListener.StartAsync();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        await client.SendAsync(SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(silent.EndPoint)));
        var reply = client.ReadReplyAsync();

        // The connect timer starts when the request is read, a moment the test cannot see: the first steps cover that.
        await VirtualTime.AssertNotYetAsync(clock, connectTimeout - TimeSpan.FromSeconds(1), reply, "The reply");
        Assert.Equal(ReplyCode.TtlExpired, (await VirtualTime.AdvanceUntilAsync(clock, TimeSpan.FromSeconds(1), connectTimeout, reply)).Reply);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "connect"), ("socks_reply", "ttl_expired"));
    }

    [Fact]
    public async Task Connect_ToDeniedNetwork_RepliesNotAllowedByRuleset()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Access:DeniedDestinations:0=127.0.0.0/8");
        await using var echo = EchoServer.Start();

        await AssertConnectFailsAsync(host, Socks5Address.FromEndPoint(echo.EndPoint), ReplyCode.ConnectionNotAllowed);
        Assert.Empty(echo.AcceptedFrom);
    }

    [Fact]
    public async Task Connect_DomainNameResolvingToDeniedNetwork_RepliesNotAllowedByRuleset()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Access:DeniedDestinations:0=127.0.0.0/8");
        await using var echo = EchoServer.Start();

        await AssertConnectFailsAsync(host, Socks5Address.FromDomainName("localhost", (ushort)echo.EndPoint.Port), ReplyCode.ConnectionNotAllowed);
        Assert.Empty(echo.AcceptedFrom);
    }

    [Theory]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("::ffff:0.0.0.0")]
    public async Task Connect_DeniedNetworkInDisguise_RepliesNotAllowedByRuleset(string disguised)
    {
        // An IPv4-mapped IPv6 address is the IPv4 host; connecting to the unspecified address reaches this very host.
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Access:DeniedDestinations:0=127.0.0.0/8");
        await using var echo = EchoServer.Start();

        var destination = Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Parse(disguised), echo.EndPoint.Port));
        await AssertConnectFailsAsync(host, destination, ReplyCode.ConnectionNotAllowed);
        Assert.Empty(echo.AcceptedFrom);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public async Task Connect_ToUnspecifiedAddress_RepliesNotAllowedEvenWithoutRules(string unspecified)
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start(IPAddress.Parse(unspecified).AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback);

        var destination = Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Parse(unspecified), echo.EndPoint.Port));
        await AssertConnectFailsAsync(host, destination, ReplyCode.ConnectionNotAllowed);
        Assert.Empty(echo.AcceptedFrom);
    }

    [Fact]
    public async Task UnknownCommand_RepliesCommandNotSupported()
    {
        await using var host = await ProxyHost.StartAsync(_output);

        await AssertRequestFailsAsync(host, (Socks5Command)0x09, ReplyCode.CommandNotSupported);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "unknown"), ("socks_reply", "command_not_supported"));
    }

    [Fact]
    public async Task AddressTypeTwo_RepliesAddressTypeNotSupported()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.GreetAsync(AuthMethod.NoAuthentication);

        // VER CMD RSV ATYP=02 (unassigned) and four address-like bytes and a port.
        await client.SendAsync(new byte[] { 0x05, 0x01, 0x00, 0x02, 127, 0, 0, 1, 0x00, 0x50 });

        var reply = await client.ReadReplyAsync();
        Assert.Equal(ReplyCode.AddressTypeNotSupported, reply.Reply);
        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "unsupported_address_type"));
    }

    [Fact]
    public async Task NonZeroReservedByte_RepliesGeneralFailure()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.GreetAsync(AuthMethod.NoAuthentication);
        var request = SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));
        request[2] = 0x01;

        await client.SendAsync(request);

        var reply = await client.ReadReplyAsync();
        Assert.Equal(ReplyCode.GeneralFailure, reply.Reply);
        await client.AssertClosedWithoutReplyAsync();
        Assert.Empty(echo.AcceptedFrom);
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "malformed_request"));
    }

    [Fact]
    public async Task FailureReply_CarriesIPv4ZeroAddressAndPort()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.GreetAsync(AuthMethod.NoAuthentication);

        await client.SendAsync(SocksTestClient.Request((Socks5Command)0x09, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 80))));

        // The raw reply: VER REP RSV ATYP=1 0.0.0.0 port 0, nothing more.
        var end = await client.ReadUntilClosedAsync();
        Assert.Equal(new byte[] { 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0 }, end.Data);
    }

    internal static async Task AssertRequestFailsAsync(ProxyHost host, Socks5Command command, ReplyCode expected)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));

        var reply = await client.RequestAsync(command, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 9)));

        Assert.Equal(expected, reply.Reply);
        await client.AssertClosedWithoutReplyAsync();
    }

    private static async Task AssertConnectFailsAsync(ProxyHost host, Socks5Address destination, ReplyCode expected)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));

        var reply = await client.RequestAsync(Socks5Command.Connect, destination);

        Assert.Equal(expected, reply.Reply);
        await client.AssertClosedWithoutReplyAsync();
    }
}
