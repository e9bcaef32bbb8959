using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Udp;

/// <summary>
/// Datagrams the relay must not relay: from the wrong sender, malformed, too large, or to a name that does not resolve.
/// Each is dropped without an answer and counted by reason, and the association carries on. "Not delivered" is proven
/// without waiting: a sentinel sent behind the bad datagram must be the only thing the echo server ever saw.
/// </summary>
public abstract class UdpDropTests
{
    private readonly ITestOutputHelper _output;

    private readonly UdpRelaySetup _setup;

    protected UdpDropTests(ITestOutputHelper output, UdpRelaySetup setup)
    {
        _output = output;
        _setup = setup;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DatagramFromAnotherSocket_IsDroppedUnansweredAndCounted(bool declarePort)
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback, declarePort);

        // With a learnt port, the client's first datagram is what claims the association.
        await association.EchoAsync(echo.EndPoint, "the client speaks first"u8.ToArray());

        // Same IP, another port; then another loopback IP altogether. Both send perfectly good datagrams.
        using var sameAddress = BindUdp(IPAddress.Loopback);
        using var otherAddress = BindUdp(IPAddress.Parse("127.0.0.2"));
        var intruder = UdpAssociationClient.Datagram(Socks5Address.FromEndPoint(echo.EndPoint), "let me in"u8);
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        await sameAddress.SendToAsync(intruder, association.RelayEndPoint, timeout.Token);
        await otherAddress.SendToAsync(intruder, association.RelayEndPoint, timeout.Token);

        await host.AssertMetricAsync(2, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "wrong_source"));
        await AssertOnlySentinelDeliveredAsync(association, echo, alreadyDelivered: 1);
        Assert.Equal(0, sameAddress.Available);
        Assert.Equal(0, otherAddress.Available);
    }

    [Theory]
    [InlineData("reserved bytes not zero")]
    [InlineData("shorter than any header")]
    [InlineData("IPv4 address cut short")]
    [InlineData("address type 2")]
    [InlineData("zero-length domain name")]
    public async Task MalformedHeader_IsDroppedAndCounted_AndTheAssociationKeepsWorking(string kind)
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        var port = echo.EndPoint.Port;
        byte[] datagram = kind switch
        {
            "reserved bytes not zero" => [0x00, 0x01, 0x00, 0x01, 127, 0, 0, 1, (byte)(port >> 8), (byte)port, 0x42],
            "shorter than any header" => [0x00, 0x00, 0x00],
            "IPv4 address cut short" => [0x00, 0x00, 0x00, 0x01, 127, 0],
            "address type 2" => [0x00, 0x00, 0x00, 0x02, 127, 0, 0, 1, (byte)(port >> 8), (byte)port, 0x42],
            "zero-length domain name" => [0x00, 0x00, 0x00, 0x03, 0x00, (byte)(port >> 8), (byte)port, 0x42],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        await association.SendRawAsync(datagram);

        await host.AssertMetricAsync(1, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "malformed"));
        await AssertOnlySentinelDeliveredAsync(association, echo);
        await host.AssertMetricAsync(1, "kestrelsocks_udp_drops_total");
    }

    [Fact]
    public async Task DatagramLargerThanMaxDatagramSize_IsDroppedAndCounted()
    {
        await using var host = await StartHostAsync("--KestrelSocks:Udp:MaxDatagramSize=1000");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        await association.SendAsync(echo.EndPoint, new byte[1001]);
        await host.AssertMetricAsync(1, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "too_large"));

        // Exactly the limit still passes, both ways.
        var atLimit = new byte[1000];
        new Random(1000).NextBytes(atLimit);
        await association.EchoAsync(echo.EndPoint, atLimit);
        Assert.Equal(1000, Assert.Single(echo.Received).Length);
    }

    [Fact]
    public async Task DestinationNameThatDoesNotResolve_IsDroppedAndCountedAsDnsFailure()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        // .invalid is reserved (RFC 2606): the resolver fails without a network round trip.
        await association.SendAsync(Socks5Address.FromDomainName("nonexistent.invalid", 53), "anyone there?"u8);

        await host.AssertMetricAsync(1, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "dns_failure"));
        await AssertOnlySentinelDeliveredAsync(association, echo);
    }

    /// <summary>
    /// Echoes a sentinel and asserts it is the only datagram the echo server received after the first
    /// <paramref name="alreadyDelivered"/>. The relay handles one client's datagrams in order, so anything sent before the
    /// sentinel that was going to be delivered would have reached the echo server first.
    /// </summary>
    internal static async Task AssertOnlySentinelDeliveredAsync(UdpAssociationClient association, UdpEchoServer echo, int alreadyDelivered = 0)
    {
        var sentinel = "sentinel"u8.ToArray();
        await association.EchoAsync(echo.EndPoint, sentinel);
        Assert.Equal(alreadyDelivered + 1, echo.Received.Count);
        Assert.Equal(sentinel, echo.Received.Last());
    }

    private static Socket BindUdp(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return socket;
    }

    /// <summary>The real host, with the UDP relay setup this class runs on (the last setting wins).</summary>
    private Task<ProxyHost> StartHostAsync(params string[] settings) =>
        ProxyHost.StartAsync(_output, [.. settings, .. _setup.Settings]);

    /// <summary>Every test above on the Linux relay loops (the default there).</summary>
    public sealed class EventLoop(ITestOutputHelper output) : UdpDropTests(output, UdpRelaySetup.EventLoop);

    /// <summary>Every test above on the portable engine.</summary>
    public sealed class Portable(ITestOutputHelper output) : UdpDropTests(output, UdpRelaySetup.Portable);

    /// <summary>Every test above on one shared port (<c>Udp:Mode=Shared</c>).</summary>
    public sealed class SharedPort(ITestOutputHelper output) : UdpDropTests(output, UdpRelaySetup.Shared);
}
