using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Udp;

/// <summary>
/// How associations end: with their control connection (RFC 1928), or when idle, in which case the control
/// connection ends with the last of them. Either way the relay port closes and the pooled event args come back.
/// </summary>
public abstract class UdpLifetimeTests
{
    private readonly ITestOutputHelper _output;

    private readonly UdpRelaySetup _setup;

    protected UdpLifetimeTests(ITestOutputHelper output, UdpRelaySetup setup)
    {
        _output = output;
        _setup = setup;
    }

    [Fact]
    public async Task ControlConnectionClosed_EndsTheAssociation_AndLaterDatagramsGetNoReply()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        await association.EchoAsync(echo.EndPoint, "while the control connection lives"u8.ToArray());
        await host.AssertMetricAsync(1, "kestrelsocks_udp_associations_active");

        await control.DisposeAsync();

        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
        await host.AssertMetricAsync(1, "kestrelsocks_udp_association_duration_seconds_count", ("socks_end_reason", "control_closed"));
        await AssertAssociationGoneAsync(host, association, echo);
        await AssertEventArgsReturnedAsync(host);
    }

    [Fact]
    public async Task IdleAssociation_Ends_AndTakesItsControlConnectionWithIt()
    {
        var clock = new FakeTimeProvider();
        var idleTimeout = TimeSpan.FromMinutes(2);
        await using var host = await StartHostAsync(clock, $"--KestrelSocks:Udp:IdleTimeout={idleTimeout}");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        await association.EchoAsync(echo.EndPoint, "then silence"u8.ToArray());

        // The proxy closes the control connection itself, cleanly, once the association idled out, and not before.
        var closed = control.ReadUntilClosedAsync();
        await VirtualTime.AssertNotYetAsync(clock, idleTimeout - TimeSpan.FromSeconds(1), closed, "The idle close");
        var end = await VirtualTime.AdvanceUntilAsync(clock, TimeSpan.FromSeconds(1), idleTimeout, closed);

        Assert.Empty(end.Data);
        Assert.False(end.WasReset, "The control connection should end with FIN, not RST.");
        await host.AssertMetricAsync(1, "kestrelsocks_udp_association_duration_seconds_count", ("socks_end_reason", "idle_timeout"));
        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
        await AssertAssociationGoneAsync(host, association, echo);
        await AssertEventArgsReturnedAsync(host);
    }

    [Fact]
    public async Task OneOfTwoAssociationsIdlesOut_TheControlConnectionStaysUntilTheOtherDoes()
    {
        var clock = new FakeTimeProvider();
        var idleTimeout = TimeSpan.FromMinutes(2);
        await using var host = await StartHostAsync(clock, $"--KestrelSocks:Udp:IdleTimeout={idleTimeout}");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var quiet = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        using var busy = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        await quiet.EchoAsync(echo.EndPoint, "then silence"u8.ToArray());

        // One association speaks every quarter of the timeout; the other says nothing, for two timeouts.
        for (var quarter = 0; quarter < 8; quarter++)
        {
            await busy.EchoAsync(echo.EndPoint, BitConverter.GetBytes(quarter));
            clock.Advance(idleTimeout / 4);
        }

        await host.AssertMetricAsync(1, "kestrelsocks_udp_association_duration_seconds_count", ("socks_end_reason", "idle_timeout"));
        await host.AssertMetricAsync(1, "kestrelsocks_udp_associations_active");
        await busy.EchoAsync(echo.EndPoint, "still here"u8.ToArray());
        Assert.False(control.Socket.Poll(0, SelectMode.SelectRead), "The control connection was closed while an association was still active.");
        await AssertAssociationGoneAsync(host, quiet, echo);

        // Now the busy one falls silent too, and the control connection goes with it.
        var end = await VirtualTime.AdvanceUntilAsync(clock, idleTimeout, idleTimeout, control.ReadUntilClosedAsync());
        Assert.Empty(end.Data);
        await host.AssertMetricAsync(2, "kestrelsocks_udp_association_duration_seconds_count", ("socks_end_reason", "idle_timeout"));
        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
    }

    /// <summary>
    /// Proves the association is gone: its relay port is closed, or on the shared port, which stays open for the
    /// others, its client is a stranger now, whose datagram is dropped as from a wrong source and never answered.
    /// </summary>
    private async Task AssertAssociationGoneAsync(ProxyHost host, UdpAssociationClient association, UdpEchoServer echo)
    {
        if (!_setup.SharedPort)
        {
            await AssertRelayPortClosedAsync(association, echo);
            return;
        }

        var wrongSource = ("socks_drop_reason", "wrong_source");
        var before = (await host.ScrapeMetricsAsync()).Require("kestrelsocks_udp_drops_total", wrongSource);
        var deliveredBefore = echo.Received.Count;
        await association.SendAsync(echo.EndPoint, "after the end"u8);

        await host.AssertMetricAsync(before + 1, "kestrelsocks_udp_drops_total", wrongSource);
        Assert.Equal(0, association.Socket.Available);
        Assert.Equal(deliveredBefore, echo.Received.Count);
    }

    /// <summary>
    /// Proves the relay port is gone, so nothing sent to it can be answered: a datagram from the client gets no reply,
    /// and a connected probe sending to the port gets ICMP port unreachable back (ECONNREFUSED) instead of silence.
    /// </summary>
    private static async Task AssertRelayPortClosedAsync(UdpAssociationClient association, UdpEchoServer echo)
    {
        var deliveredBefore = echo.Received.Count;
        await association.SendAsync(echo.EndPoint, "after the end"u8);

        using var probe = new Socket(association.RelayEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        await probe.ConnectAsync(association.RelayEndPoint, timeout.Token);
        await probe.SendAsync(UdpAssociationClient.Datagram(Socks5Address.FromEndPoint(echo.EndPoint), "probe"u8), timeout.Token);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await probe.ReceiveAsync(new byte[64], SocketFlags.None, timeout.Token));
        // Linux reports the ICMP error as ECONNREFUSED; Windows as WSAECONNRESET.
        Assert.True(refused.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset, $"The probe failed with {refused.SocketErrorCode}.");

        // The client's datagram went before the probe's on the same loopback path; it met the same closed port.
        Assert.Equal(0, association.Socket.Available);
        Assert.Equal(deliveredBefore, echo.Received.Count);
    }

    private static async Task AssertEventArgsReturnedAsync(ProxyHost host)
    {
        var pool = host.App.Services.GetRequiredService<UdpRelay>().EventArgsPool;
        await Eventually.AssertAsync(() => pool.Outstanding == 0, () => $"{pool.Outstanding} readiness event args were never returned to the pool.");
    }

    /// <summary>The real host, with the UDP relay setup this class runs on (the last setting wins).</summary>
    private Task<ProxyHost> StartHostAsync(params string[] settings) =>
        ProxyHost.StartAsync(_output, [.. settings, .. _setup.Settings]);

    private Task<ProxyHost> StartHostAsync(FakeTimeProvider clock, params string[] settings) =>
        ProxyHost.StartAsync(_output, clock, [.. settings, .. _setup.Settings]);

    /// <summary>Every test above on the Linux relay loops (the default there).</summary>
    public sealed class EventLoop(ITestOutputHelper output) : UdpLifetimeTests(output, UdpRelaySetup.EventLoop);

    /// <summary>Every test above on the portable engine.</summary>
    public sealed class Portable(ITestOutputHelper output) : UdpLifetimeTests(output, UdpRelaySetup.Portable);

    /// <summary>Every test above on one shared port (<c>Udp:Mode=Shared</c>).</summary>
    public sealed class SharedPort(ITestOutputHelper output) : UdpLifetimeTests(output, UdpRelaySetup.Shared);
}
