using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Hosting;
using KestrelSocks.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// A SOCKS listener behind a balancer that sends the PROXY protocol: the header's client is the client for rules,
/// per-client limits, UDP admission, logs and metrics; anyone else, and any bad header, is closed before SOCKS and
/// counted, while the other listeners' sessions carry on.
/// </summary>
public sealed class ProxyProtocolTests
{
    private static readonly byte[] _v2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private readonly ITestOutputHelper _output;

    public ProxyProtocolTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string> Versions => ["v1", "v2"];

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Header_TheSessionIsTheClients_InItsLogLineAndMetrics(string version)
    {
        await using var host = await StartAsync(trusted: "127.0.0.1");
        await using var echo = EchoServer.Start();
        var client = IPEndPoint.Parse("198.51.100.23:50123");

        await using (var tunnel = await OpenTunnelAsync(host, Header(version, client), echo.EndPoint))
        {
            await ConnectTests.AssertEchoesAsync(tunnel, "through the balancer"u8.ToArray());
        }

        await host.Logs.AssertLoggedAsync($"from {client} user -: connect");
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("from 127.0.0.1:", StringComparison.Ordinal) && e.Message.StartsWith("Session", StringComparison.Ordinal));
        await host.AssertMetricAsync(1, "kestrelsocks_proxy_protocol_headers_total",
            ("socks_proxy_protocol_version", version[1..]), ("socks_proxy_protocol_command", "proxy"));
        await host.AssertMetricAsync(0, "kestrelsocks_proxy_protocol_rejected_total");
    }

    [Fact]
    public async Task LocalHeader_KeepsTheBalancersOwnAddress()
    {
        await using var host = await StartAsync(trusted: "127.0.0.0/8");
        await using var echo = EchoServer.Start();
        byte[] local = [.. _v2Signature, 0x20, 0x00, 0x00, 0x00];

        await using (var tunnel = await OpenTunnelAsync(host, local, echo.EndPoint))
        {
            await ConnectTests.AssertEchoesAsync(tunnel, "a health check"u8.ToArray());
        }

        await host.Logs.AssertLoggedAsync("from 127.0.0.1:");
        await host.AssertMetricAsync(1, "kestrelsocks_proxy_protocol_headers_total",
            ("socks_proxy_protocol_version", "2"), ("socks_proxy_protocol_command", "local"));
    }

    [Fact]
    public async Task AccessRules_SeeTheHeadersClient()
    {
        await using var host = await StartAsync("127.0.0.1",
            "--KestrelSocks:Access:Rules:0:Name=no-documentation-net",
            "--KestrelSocks:Access:Rules:0:Action=Deny",
            "--KestrelSocks:Access:Rules:0:Clients:0=192.0.2.0/24");
        await using var echo = EchoServer.Start();

        await using (var denied = await ConnectAsync(host, Header("v2", IPEndPoint.Parse("192.0.2.7:40000"))))
        {
            Assert.Equal(AuthMethod.NoAuthentication, await denied.GreetAsync(AuthMethod.NoAuthentication));
            var reply = await denied.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));
            Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
        }

        await using var allowed = await OpenTunnelAsync(host, Header("v2", IPEndPoint.Parse("198.51.100.7:40000")), echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(allowed, "another client"u8.ToArray());
        await host.AssertMetricAsync(1, "kestrelsocks_access_denied_total", ("socks_access_rule", "no-documentation-net"));
    }

    [Fact]
    public async Task PerClientLimits_CountTheHeadersClient_NotTheBalancer()
    {
        await using var host = await StartAsync("127.0.0.1", "--KestrelSocks:Limits:MaxSessionsPerClient=1");
        await using var echo = EchoServer.Start();

        // Two clients behind one balancer address each get their one session.
        await using var first = await OpenTunnelAsync(host, Header("v1", IPEndPoint.Parse("198.51.100.1:1000")), echo.EndPoint);
        await using var second = await OpenTunnelAsync(host, Header("v1", IPEndPoint.Parse("198.51.100.2:1000")), echo.EndPoint);

        // A second session of the first client is its second.
        await using var again = await ConnectAsync(host, Header("v1", IPEndPoint.Parse("198.51.100.1:1001")));
        await again.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_connections_rejected_total", ("socks_reject_reason", "client_session_limit"));
    }

    [Fact]
    public async Task UdpAssociate_AdmitsDatagramsFromTheHeadersClientOnly()
    {
        await using var host = await StartAsync("127.0.0.1");
        await using var echo = UdpEchoServer.Start();
        using var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        clientSocket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        var clientEndPoint = (IPEndPoint)clientSocket.LocalEndPoint!;

        // The balancer (127.0.0.1) says the client is 127.0.0.2: its datagrams, and not the balancer's, belong to the association.
        await using var control = await ConnectAsync(host, Header("v2", new IPEndPoint(clientEndPoint.Address, 45000)));
        Assert.Equal(AuthMethod.NoAuthentication, await control.GreetAsync(AuthMethod.NoAuthentication));
        var reply = await control.RequestAsync(Socks5Command.UdpAssociate, Socks5Address.FromEndPoint(clientEndPoint));
        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        var relay = new IPEndPoint(IPAddress.Loopback, reply.BoundAddress.Port);

        using var balancerSocket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        balancerSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var datagram = UdpAssociationClient.Datagram(Socks5Address.FromEndPoint(echo.EndPoint), "from the balancer"u8);
        await balancerSocket.SendToAsync(datagram, relay);
        await host.AssertMetricAsync(1, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "wrong_source"));

        await clientSocket.SendToAsync(UdpAssociationClient.Datagram(Socks5Address.FromEndPoint(echo.EndPoint), "from the client"u8), relay);
        var buffer = new byte[512];
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        var received = await clientSocket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.EndsWith("from the client", Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes), StringComparison.Ordinal);
        Assert.Equal(0, balancerSocket.Available);
    }

    [Fact]
    public async Task UntrustedPeer_IsClosedAndCounted_WhileThePlainListenerServes()
    {
        await using var host = await StartAsync(trusted: "10.0.0.0/8");
        await using var echo = EchoServer.Start();
        await using var plain = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);

        // 127.0.0.1 is not a balancer: even a perfect header is not read.
        await using (var intruder = await ConnectAsync(host, Header("v1", IPEndPoint.Parse("198.51.100.1:1"))))
        {
            await intruder.AssertClosedWithoutReplyAsync();
        }

        await host.AssertMetricAsync(1, "kestrelsocks_proxy_protocol_rejected_total", ("socks_proxy_protocol_reason", "untrusted"));
        await host.Logs.AssertLoggedAsync("PROXY protocol header untrusted");
        await ConnectTests.AssertEchoesAsync(plain, "still here"u8.ToArray());
    }

    public static TheoryData<string, byte[], string> BadHeaders => new()
    {
        { "a SOCKS greeting, no header", [0x05, 0x01, 0x00], "missing" },
        { "v1 with a bad address", Encoding.ASCII.GetBytes("PROXY TCP4 1.2.3 4.5.6.7 1 2\r\n"), "malformed" },
        { "v1 without CRLF", Encoding.ASCII.GetBytes("PROXY UNKNOWN " + new string('x', 120)), "oversized" },
        { "v2 over UDP", [.. _v2Signature, 0x21, 0x12, 0x00, 0x0C, .. new byte[12]], "unsupported" },
        { "v2 announcing 64 KiB", [.. _v2Signature, 0x21, 0x11, 0xFF, 0xFF], "oversized" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public async Task BadHeader_IsClosedAndCountedByReason_AndOtherSessionsCarryOn(string name, byte[] bytes, string reason)
    {
        Assert.NotEmpty(name);
        await using var host = await StartAsync(trusted: "127.0.0.1");
        await using var echo = EchoServer.Start();
        await using var good = await OpenTunnelAsync(host, Header("v2", IPEndPoint.Parse("198.51.100.9:9")), echo.EndPoint);

        await using (var bad = await ConnectAsync(host, bytes))
        {
            await bad.AssertClosedWithoutReplyAsync();
        }

        await host.AssertMetricAsync(1, "kestrelsocks_proxy_protocol_rejected_total", ("socks_proxy_protocol_reason", reason));
        await ConnectTests.AssertEchoesAsync(good, "unaffected"u8.ToArray());
    }

    [Fact]
    public async Task HeaderCutShortByTheBalancer_IsCountedAsTruncated()
    {
        await using var host = await StartAsync(trusted: "127.0.0.1");
        await using (var cut = await ConnectAsync(host, Encoding.ASCII.GetBytes("PROXY TCP4 198.51.100.1 ")))
        {
            cut.ShutdownSend();
            await cut.AssertClosedWithoutReplyAsync();
        }

        await host.AssertMetricAsync(1, "kestrelsocks_proxy_protocol_rejected_total", ("socks_proxy_protocol_reason", "truncated"));
    }

    [Fact]
    public async Task PlainListener_NeverReadsAHeader()
    {
        await using var host = await StartAsync(trusted: "127.0.0.1");
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        // To a listener without the PROXY protocol a header is only a bad greeting.
        await client.SendAsync("PROXY TCP4 198.51.100.1 127.0.0.1 1 2\r\n");
        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(0, "kestrelsocks_proxy_protocol_rejected_total", ("socks_proxy_protocol_reason", "missing"));
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "bad_version"));
    }

    private Task<ProxyHost> StartAsync(string trusted, params string[] settings) =>
        ProxyHost.StartAsync(_output, [
            "--KestrelSocks:ProxyProtocol:Listen:0=127.0.0.1:0",
            $"--KestrelSocks:ProxyProtocol:TrustedNetworks:0={trusted}",
            "--KestrelSocks:Authentication:AllowAnonymous=true",
            .. settings]);

    private static IPEndPoint ProxyEndPoint(ProxyHost host) => host.App.Services.GetRequiredService<SocksEndPoints>().ProxyProtocol[0];

    private static async Task<SocksTestClient> ConnectAsync(ProxyHost host, byte[] header)
    {
        var client = await SocksTestClient.ConnectAsync(ProxyEndPoint(host));
        await client.SendAsync(header);
        return client;
    }

    private static async Task<SocksTestClient> OpenTunnelAsync(ProxyHost host, byte[] header, IPEndPoint destination)
    {
        var client = await ConnectAsync(host, header);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(destination));
        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        return client;
    }

    /// <summary>The header a balancer on 127.0.0.1:1080 sends for <paramref name="client"/>.</summary>
    private static byte[] Header(string version, IPEndPoint client)
    {
        var ipv4 = client.AddressFamily == AddressFamily.InterNetwork;
        var balancer = new IPEndPoint(ipv4 ? IPAddress.Loopback : IPAddress.IPv6Loopback, 1080);
        if (version == "v1")
        {
            return Encoding.ASCII.GetBytes($"PROXY {(ipv4 ? "TCP4" : "TCP6")} {client.Address} {balancer.Address} {client.Port} {balancer.Port}\r\n");
        }

        var size = ipv4 ? 4 : 16;
        var header = new byte[16 + (2 * size) + 4];
        _v2Signature.CopyTo(header, 0);
        header[12] = 0x21;
        header[13] = (byte)(ipv4 ? 0x11 : 0x21);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)((2 * size) + 4));
        client.Address.TryWriteBytes(header.AsSpan(16), out _);
        balancer.Address.TryWriteBytes(header.AsSpan(16 + size), out _);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(16 + (2 * size)), (ushort)client.Port);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(18 + (2 * size)), (ushort)balancer.Port);
        return header;
    }
}
