using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Udp;

/// <summary>
/// UDP ASSOCIATE through the real host to real loopback UDP echo servers: declared and learnt client ports, every
/// destination address type, replies told apart by their header, and datagrams up to nearly the UDP maximum.
/// </summary>
public abstract class UdpAssociateTests
{
    private readonly ITestOutputHelper _output;

    private readonly UdpRelaySetup _setup;

    protected UdpAssociateTests(ITestOutputHelper output, UdpRelaySetup setup)
    {
        _output = output;
        _setup = setup;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Associate_IPv4Destination_EchoesThroughTheRelay(bool declarePort)
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);

        // Declared: the request names the client's own socket. Not declared: 0.0.0.0:0, the port is learnt from the first datagram.
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback, declarePort);

        // The relay listens where the client reached the proxy.
        Assert.Equal(IPAddress.Loopback, association.RelayEndPoint.Address);
        var reply = await association.EchoAsync(echo.EndPoint, "over IPv4"u8.ToArray());
        Assert.Equal(AddressType.IPv4, reply.Source.Type);
        await association.EchoAsync(echo.EndPoint, "and again"u8.ToArray());

        await host.AssertMetricAsync(1, "kestrelsocks_udp_associations_active");
        await host.AssertMetricAsync(2, "kestrelsocks_udp_datagrams_total", ("socks_direction", "upstream"));
        await host.AssertMetricAsync(2, "kestrelsocks_udp_datagrams_total", ("socks_direction", "downstream"));
        await host.AssertMetricAsync(18, "kestrelsocks_udp_bytes_total", ("socks_direction", "upstream"));
        await host.AssertMetricAsync(18, "kestrelsocks_udp_bytes_total", ("socks_direction", "downstream"));
    }

    [Fact]
    public async Task ClientOnAnotherAddressThanTheListener_RepliesComeFromTheAnnouncedAddress()
    {
        // The proxy listens on 127.0.0.3 and the client sends from 127.0.0.1. The kernel's own choice of source for a
        // reply to 127.0.0.1 is 127.0.0.1; the client must see it come from the address it was told, 127.0.0.3, or a
        // client (or a NAT in front of it) that checks the source drops it.
        await using var host = await StartHostAsync("--KestrelSocks:Listen:0=127.0.0.3:0");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        Assert.Equal(IPAddress.Parse("127.0.0.3"), association.RelayEndPoint.Address);

        // ReceiveAsync asserts that the reply came from RelayEndPoint.
        await association.EchoAsync(echo.EndPoint, "from where?"u8.ToArray());
    }

    [Fact]
    public async Task Associate_OverIPv6ControlConnection_RelayIsIPv6()
    {
        Assert.True(Socket.OSSupportsIPv6, "IPv6 loopback (::1) is needed.");
        await using var host = await StartHostAsync("--KestrelSocks:Listen:0=[::1]:0");
        Assert.Equal(IPAddress.IPv6Loopback, host.SocksEndPoint.Address);
        await using var echo = UdpEchoServer.Start(IPAddress.IPv6Loopback);
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.IPv6Loopback);

        Assert.Equal(IPAddress.IPv6Loopback, association.RelayEndPoint.Address);
        var reply = await association.EchoAsync(echo.EndPoint, "over IPv6 all the way"u8.ToArray());
        Assert.Equal(AddressType.IPv6, reply.Source.Type);
    }

    [Fact]
    public async Task Associate_IPv4ClientOverIPv6ControlConnection_RelayIsIPv4OnTheRouteToTheClient()
    {
        Assert.True(Socket.OSSupportsIPv6, "IPv6 loopback (::1) is needed.");
        await using var host = await StartHostAsync("--KestrelSocks:Listen:0=[::1]:0");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);

        // The client declares an IPv4 socket: the relay must announce an IPv4 address it listens on, not [::1].
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        Assert.Equal(IPAddress.Loopback, association.RelayEndPoint.Address);
        await association.EchoAsync(echo.EndPoint, "IPv4 datagrams, IPv6 control"u8.ToArray());
    }

    [Fact]
    public async Task Associate_IPv4Association_ReachesIPv6Destination()
    {
        Assert.True(Socket.OSSupportsIPv6, "IPv6 loopback (::1) is needed.");
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start(IPAddress.IPv6Loopback);
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        Assert.Equal(IPAddress.Loopback, association.RelayEndPoint.Address);
        var reply = await association.EchoAsync(echo.EndPoint, "IPv4 client, IPv6 destination"u8.ToArray());

        // The header names the IPv6 sender exactly, not an IPv4-mapped form of it.
        Assert.Equal(AddressType.IPv6, reply.Source.Type);
        Assert.Equal(IPAddress.IPv6Loopback, reply.Source.ToIPAddress());
    }

    [Fact]
    public async Task Associate_DomainNameDestination_IsResolvedByTheRelay()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.StartOnBothLoopbacks();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        var byName = Socks5Address.FromDomainName("localhost", (ushort)echo.EndPoint.Port);

        // The first datagram waits for the resolver; the second hits the relay's cache. Replies name the IP that
        // answered, 127.0.0.1 or ::1 depending on the hosts file, and never a name.
        await association.SendAsync(byName, "resolved"u8);
        var resolved = await association.ReceiveAsync();
        Assert.Equal("resolved"u8.ToArray(), resolved.Payload);
        Assert.Contains(resolved.SourceEndPoint, echo.EndPoints);
        await association.EchoAsync(byName, "cached"u8.ToArray(), resolved.SourceEndPoint);
        await host.AssertMetricAsync(0, "kestrelsocks_udp_drops_total");
    }

    [Fact]
    public async Task OneAssociation_ThreeDestinations_EachReplyNamesItsSender()
    {
        await using var host = await StartHostAsync();
        await using var first = UdpEchoServer.Start();
        await using var second = UdpEchoServer.Start();
        await using var third = UdpEchoServer.Start();
        UdpEchoServer[] servers = [first, second, third];
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        // Interleaved, several in flight at once: each payload says which server it was sent to.
        const int Rounds = 5;
        for (var round = 0; round < Rounds; round++)
        {
            foreach (var server in servers)
            {
                await association.SendAsync(server.EndPoint, PayloadFor(server.EndPoint, round));
            }
        }

        var seen = new HashSet<string>();
        for (var i = 0; i < Rounds * servers.Length; i++)
        {
            var reply = await association.ReceiveAsync();
            var text = Encoding.ASCII.GetString(reply.Payload);
            var addressedTo = int.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, addressedTo), reply.SourceEndPoint);
            Assert.True(seen.Add(text), $"'{text}' came back twice.");
        }

        foreach (var server in servers)
        {
            Assert.Equal(Rounds, server.Received.Count);
        }
    }

    [Theory]
    [InlineData(8 * 1024)]
    [InlineData(65_000)]
    public async Task LargeDatagram_IsEchoedByteExact(int size)
    {
        // Both drain paths: recvmmsg/sendmmsg batches (Linux) and one system call per datagram (everywhere).
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        var payload = new byte[size];
        new Random(size).NextBytes(payload);

        await association.EchoAsync(echo.EndPoint, payload);

        await host.AssertMetricAsync(size, "kestrelsocks_udp_bytes_total", ("socks_direction", "upstream"));
        await host.AssertMetricAsync(size, "kestrelsocks_udp_bytes_total", ("socks_direction", "downstream"));
    }

    [Fact]
    public async Task SeveralAssociationsOnOneControlConnection_EachHasItsOwnRelayEndPointAndWorks()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        var associations = new List<UdpAssociationClient>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                associations.Add(await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback));
            }

            // A port each, or all on the one shared port, where the client's own address and port tell them apart.
            Assert.Equal(_setup.SharedPort ? 1 : 5, associations.Select(a => a.RelayEndPoint.Port).Distinct().Count());
            await host.AssertMetricAsync(5, "kestrelsocks_udp_associations_active");

            // Each association serves its own client only, in any order.
            for (var i = associations.Count - 1; i >= 0; i--)
            {
                await associations[i].EchoAsync(echo.EndPoint, Encoding.ASCII.GetBytes($"association {i}"));
            }
        }
        finally
        {
            associations.ForEach(a => a.Dispose());
        }

        // Requests are counted by their replies: five on this one connection.
        await host.AssertMetricAsync(5, "kestrelsocks_sessions_total", ("socks_command", "udp_associate"), ("socks_reply", "succeeded"));
    }

    [Fact]
    public async Task AssociationBeyondPerConnectionLimit_RepliesNotAllowed_AndTheOthersKeepWorking()
    {
        await using var host = await StartHostAsync("--KestrelSocks:Udp:MaxAssociationsPerConnection=2");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var first = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        using var second = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        using var third = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        third.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var refused = await control.RequestAsync(Socks5Command.UdpAssociate, Socks5Address.FromEndPoint((IPEndPoint)third.LocalEndPoint!));

        Assert.Equal(ReplyCode.ConnectionNotAllowed, refused.Reply);
        await host.AssertMetricAsync(2, "kestrelsocks_udp_associations_active");

        // Every request on the connection is counted by its reply, not only the first.
        await host.AssertMetricAsync(2, "kestrelsocks_sessions_total", ("socks_command", "udp_associate"), ("socks_reply", "succeeded"));
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "udp_associate"), ("socks_reply", "connection_not_allowed"));

        // The refusal leaves the connection and both associations as they were.
        await first.EchoAsync(echo.EndPoint, "first still works"u8.ToArray());
        await second.EchoAsync(echo.EndPoint, "second still works"u8.ToArray());
        Assert.False(control.Socket.Poll(0, SelectMode.SelectRead), "The proxy closed (or wrote to) the control connection after the refusal.");
    }

    [Fact]
    public async Task AfterThousandsOfOtherDestinations_TheFirstOneMayStillReply()
    {
        // The relay keeps a bounded cache of destinations; it must not forget with it which destinations the client
        // contacted, or a client that talks to many destinations loses the replies of the one it is talking to.
        await using var host = await StartHostAsync();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        first.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var timeout = new CancellationTokenSource(TestTimeouts.Long);

        await association.SendAsync((IPEndPoint)first.LocalEndPoint!, "are you there?"u8);
        var buffer = new byte[1024];
        var request = await first.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);

        // 5,000 more destinations, more than the cache holds: 127.1.x.y port 9, where nothing listens. In chunks, so no
        // socket buffer on the way can overflow.
        const int Others = 5_000;
        const int Chunk = 500;
        for (var sent = 0; sent < Others; sent += Chunk)
        {
            for (var i = sent; i < sent + Chunk; i++)
            {
                await association.SendAsync(new IPEndPoint(new IPAddress([127, 1, (byte)(i / 250), (byte)((i % 250) + 1)]), 9), "x"u8);
            }

            await host.AssertMetricAsync(1 + sent + Chunk, "kestrelsocks_udp_datagrams_total", ("socks_direction", "upstream"));
        }

        await first.SendToAsync("yes, late"u8.ToArray(), SocketFlags.None, request.RemoteEndPoint, timeout.Token);

        var reply = await association.ReceiveAsync();
        Assert.Equal((IPEndPoint)first.LocalEndPoint!, reply.SourceEndPoint);
        Assert.Equal("yes, late"u8.ToArray(), reply.Payload);
    }

    private static byte[] PayloadFor(IPEndPoint destination, int round) =>
        Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{destination.Port} round {round}"));

    /// <summary>The real host, with the UDP relay setup this class runs on (the last setting wins).</summary>
    private Task<ProxyHost> StartHostAsync(params string[] settings) =>
        ProxyHost.StartAsync(_output, [.. settings, .. _setup.Settings]);

    /// <summary>Every test above on the Linux relay loops (the default there).</summary>
    public sealed class EventLoop(ITestOutputHelper output) : UdpAssociateTests(output, UdpRelaySetup.EventLoop);

    /// <summary>Every test above on the portable engine.</summary>
    public sealed class Portable(ITestOutputHelper output) : UdpAssociateTests(output, UdpRelaySetup.Portable);

    /// <summary>Every test above on one shared port (<c>Udp:Mode=Shared</c>).</summary>
    public sealed class SharedPort(ITestOutputHelper output) : UdpAssociateTests(output, UdpRelaySetup.Shared);
}
