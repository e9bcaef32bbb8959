using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Bind;

/// <summary>
/// BIND (RFC 1928 section 4) through the real host: the first reply names the proxy's listener, the second names the
/// peer that connected, then bytes flow both ways as for CONNECT. Peers from the wrong address are refused, and the
/// wait ends on a timeout or when the client gives up.
/// </summary>
public sealed class BindTests
{
    private readonly ITestOutputHelper _output;

    public BindTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Bind_TwoReplies_ThenDataBothWaysAndHalfClose()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var control = await RequestBindAsync(host.SocksEndPoint, new IPEndPoint(IPAddress.Loopback, 0));
        var listening = await ReadFirstReplyAsync(control);
        Assert.Equal(IPAddress.Loopback, listening.Address);

        using var peer = await LoopbackPeer.ConnectAsync(listening);

        var second = await control.ReadReplyAsync();
        Assert.Equal(ReplyCode.Succeeded, second.Reply);
        Assert.Equal(peer.LocalEndPoint, new IPEndPoint(second.BoundAddress.ToIPAddress(), second.BoundAddress.Port));

        // Peer to client, client to peer.
        var fromPeer = RandomBytes(64 * 1024, seed: 1);
        await LoopbackPeer.SendAllAsync(peer, fromPeer);
        ConnectTests.AssertSameBytes(fromPeer, await control.ReceiveExactlyAsync(fromPeer.Length));
        var fromClient = RandomBytes(64 * 1024, seed: 2);
        await control.SendAsync(fromClient);
        ConnectTests.AssertSameBytes(fromClient, await LoopbackPeer.ReceiveExactlyAsync(peer, fromClient.Length));

        // The client is done sending: the peer sees end of stream and can still answer.
        control.ShutdownSend();
        var peerSide = await LoopbackPeer.ReadUntilClosedAsync(peer);
        Assert.Empty(peerSide.Data);
        Assert.False(peerSide.WasReset);
        await LoopbackPeer.SendAllAsync(peer, "last words from the peer"u8.ToArray());
        peer.Shutdown(SocketShutdown.Send);

        var clientSide = await control.ReadUntilClosedAsync();
        Assert.Equal("last words from the peer"u8.ToArray(), clientSide.Data);
        Assert.False(clientSide.WasReset);
        await host.AssertMetricAsync(1, "kestrelsocks_bind_sessions_total", ("socks_bind_result", "accepted"));
        await host.AssertMetricAsync(0, "kestrelsocks_bind_refused_peers_total");
    }

    [Fact]
    public async Task Bind_PeerFromUnexpectedAddress_IsRefusedAndCounted_ThenTheExpectedPeerIsAccepted()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        var expected = IPAddress.Parse("127.0.0.2");
        await using var control = await RequestBindAsync(host.SocksEndPoint, new IPEndPoint(expected, 0));
        var listening = await ReadFirstReplyAsync(control);

        // From 127.0.0.1, the default source on loopback: the kernel completes the handshake, then the proxy resets it.
        await AssertStrangerIsResetAsync(listening);

        await host.AssertMetricAsync(1, "kestrelsocks_bind_refused_peers_total");
        Assert.Equal(0, control.Socket.Available);

        // The wait goes on: the peer the client named is still welcome.
        using var peer = await LoopbackPeer.ConnectAsync(listening, source: expected);
        var second = await control.ReadReplyAsync();
        Assert.Equal(ReplyCode.Succeeded, second.Reply);
        Assert.Equal(peer.LocalEndPoint, new IPEndPoint(second.BoundAddress.ToIPAddress(), second.BoundAddress.Port));
        Assert.Equal(expected, second.BoundAddress.ToIPAddress());

        await control.SendAsync("hello, expected peer"u8.ToArray());
        Assert.Equal("hello, expected peer"u8.ToArray(), await LoopbackPeer.ReceiveExactlyAsync(peer, 20));
        await host.AssertMetricAsync(1, "kestrelsocks_bind_sessions_total", ("socks_bind_result", "accepted"));
    }

    [Fact]
    public async Task Bind_NobodyConnects_SecondReplyIsTtlExpiredAfterAcceptTimeout()
    {
        var clock = new FakeTimeProvider();
        var acceptTimeout = TimeSpan.FromMinutes(2);
        await using var host = await ProxyHost.StartAsync(_output, clock, $"--KestrelSocks:Bind:AcceptTimeout={acceptTimeout}");
        await using var control = await RequestBindAsync(host.SocksEndPoint, new IPEndPoint(IPAddress.Loopback, 0));
        var listening = await ReadFirstReplyAsync(control);
        var second = control.ReadReplyAsync();

        // The wait starts just after the first reply was sent: the first steps cover that moment.
        await VirtualTime.AssertNotYetAsync(clock, acceptTimeout - TimeSpan.FromSeconds(1), second, "The second reply");
        Assert.Equal(ReplyCode.TtlExpired, (await VirtualTime.AdvanceUntilAsync(clock, TimeSpan.FromSeconds(1), acceptTimeout, second)).Reply);
        await control.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_bind_sessions_total", ("socks_bind_result", "timeout"));
        await AssertPortRefusesAsync(listening);
    }

    [Fact]
    public async Task Bind_ClientClosesWhileWaiting_ReleasesThePortAndCounts()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var control = await RequestBindAsync(host.SocksEndPoint, new IPEndPoint(IPAddress.Loopback, 0));
        var listening = await ReadFirstReplyAsync(control);

        await control.DisposeAsync();

        await host.AssertMetricAsync(1, "kestrelsocks_bind_sessions_total", ("socks_bind_result", "client_closed"));
        await AssertPortRefusesAsync(listening);
        await host.AssertMetricAsync(0, "kestrelsocks_bind_sessions_total", ("socks_bind_result", "accepted"));
    }

    [Fact]
    public async Task Bind_OverIPv6_ListensOnIPv6AndAcceptsAnyPeerForUnspecifiedAddress()
    {
        Assert.True(Socket.OSSupportsIPv6, "IPv6 loopback (::1) is needed.");
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Listen:0=[::1]:0", "--KestrelSocks:Bind:AllowAnyPeer=true");
        await using var control = await RequestBindAsync(host.SocksEndPoint, new IPEndPoint(IPAddress.IPv6Any, 0));
        var listening = await ReadFirstReplyAsync(control);
        Assert.Equal(IPAddress.IPv6Loopback, listening.Address);

        using var peer = await LoopbackPeer.ConnectAsync(listening);
        var second = await control.ReadReplyAsync();
        Assert.Equal(ReplyCode.Succeeded, second.Reply);
        Assert.Equal(AddressType.IPv6, second.BoundAddress.Type);
        Assert.Equal(peer.LocalEndPoint, new IPEndPoint(second.BoundAddress.ToIPAddress(), second.BoundAddress.Port));

        await LoopbackPeer.SendAllAsync(peer, "over IPv6"u8.ToArray());
        Assert.Equal("over IPv6"u8.ToArray(), await control.ReceiveExactlyAsync(9));
        await control.SendAsync("and back"u8.ToArray());
        Assert.Equal("and back"u8.ToArray(), await LoopbackPeer.ReceiveExactlyAsync(peer, 8));
    }

    [Fact]
    public async Task Bind_IPv4PeerOverIPv6ControlConnection_ListensOnIPv4OnTheRouteToThePeer()
    {
        Assert.True(Socket.OSSupportsIPv6, "IPv6 loopback (::1) is needed.");
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Listen:0=[::1]:0");
        await using var control = await RequestBindAsync(host.SocksEndPoint, new IPEndPoint(IPAddress.Loopback, 0));

        // An IPv4 peer needs an IPv4 address to connect to: the one the proxy would reach it from, not [::1].
        var listening = await ReadFirstReplyAsync(control);
        Assert.Equal(IPAddress.Loopback, listening.Address);

        using var peer = await LoopbackPeer.ConnectAsync(listening);
        var second = await control.ReadReplyAsync();
        Assert.Equal(ReplyCode.Succeeded, second.Reply);
        Assert.Equal(peer.LocalEndPoint, new IPEndPoint(second.BoundAddress.ToIPAddress(), second.BoundAddress.Port));
        await LoopbackPeer.SendAllAsync(peer, "IPv4 peer"u8.ToArray());
        Assert.Equal("IPv4 peer"u8.ToArray(), await control.ReceiveExactlyAsync(9));
    }

    [Fact]
    public async Task Bind_UnspecifiedIPv4AddressOverIPv6ControlConnection_AnnouncesAnAddressItListensOn()
    {
        Assert.True(Socket.OSSupportsIPv6, "IPv6 loopback (::1) is needed.");
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Listen:0=[::1]:0", "--KestrelSocks:Bind:AllowAnyPeer=true");

        // 0.0.0.0 names no peer, so its family says nothing: the proxy answers in the family the client reached it with.
        await using var control = await RequestBindAsync(host.SocksEndPoint, new IPEndPoint(IPAddress.Any, 0));
        var listening = await ReadFirstReplyAsync(control);
        Assert.Equal(IPAddress.IPv6Loopback, listening.Address);

        using var peer = await LoopbackPeer.ConnectAsync(listening);
        Assert.Equal(ReplyCode.Succeeded, (await control.ReadReplyAsync()).Reply);
    }

    /// <summary>Greets without authentication and sends BIND naming <paramref name="expectedPeer"/> (0.0.0.0 or :: for anyone).</summary>
    internal static async Task<SocksTestClient> RequestBindAsync(IPEndPoint proxy, IPEndPoint expectedPeer)
    {
        var control = await SocksTestClient.ConnectAsync(proxy);
        try
        {
            Assert.Equal(AuthMethod.NoAuthentication, await control.GreetAsync(AuthMethod.NoAuthentication));
            await control.SendAsync(SocksTestClient.Request(Socks5Command.Bind, Socks5Address.FromEndPoint(expectedPeer)));
            return control;
        }
        catch
        {
            await control.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads the first reply, asserts success, and returns where the proxy listens for the peer.</summary>
    internal static async Task<IPEndPoint> ReadFirstReplyAsync(SocksTestClient control)
    {
        var first = await control.ReadReplyAsync();
        Assert.Equal(ReplyCode.Succeeded, first.Reply);
        Assert.NotEqual(0, first.BoundAddress.Port);
        return new IPEndPoint(first.BoundAddress.ToIPAddress(), first.BoundAddress.Port);
    }

    /// <summary>
    /// Connects from 127.0.0.1 and expects a reset. The proxy can reset so quickly that the reset is what the connect
    /// itself reports, before a single read; either way the peer was refused, not served.
    /// </summary>
    private static async Task AssertStrangerIsResetAsync(IPEndPoint listening)
    {
        Socket stranger;
        try
        {
            stranger = await LoopbackPeer.ConnectAsync(listening);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return;
        }

        using (stranger)
        {
            Assert.Equal(IPAddress.Loopback, ((IPEndPoint)stranger.LocalEndPoint!).Address);
            var end = await LoopbackPeer.ReadUntilClosedAsync(stranger);
            Assert.Empty(end.Data);
            Assert.True(end.WasReset, "A refused peer should be reset, not closed as if it had been served.");
        }
    }

    /// <summary>Polls until a connection attempt to the BIND port is refused: nobody listens there any more.</summary>
    private static async Task AssertPortRefusesAsync(IPEndPoint listening)
    {
        SocketError? last = null;
        await Eventually.AssertAsync(
            async () =>
            {
                try
                {
                    using var attempt = await LoopbackPeer.ConnectAsync(listening);
                    last = SocketError.Success;
                    return false;
                }
                catch (SocketException e)
                {
                    last = e.SocketErrorCode;
                    return e.SocketErrorCode == SocketError.ConnectionRefused;
                }
            },
            () => $"connecting to the released BIND port {listening} ended with {last}, not ConnectionRefused");
    }

    private static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
