using System.Diagnostics.Metrics;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// Graceful shutdown on the host's clock: the SOCKS listener closes; handshakes stop at once, established tunnels keep
/// relaying until they end or the drain timeout runs out on that clock.
/// </summary>
public sealed class ShutdownTests
{
    private readonly ITestOutputHelper _output;

    public ShutdownTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task StopAsync_TunnelKeepsWorkingUntilDrainTimeout_HandshakeIsClosedAtOnce()
    {
        var clock = new FakeTimeProvider();
        var drainTimeout = TimeSpan.FromMinutes(5);
        await using var host = await ProxyHost.StartAsync(_output, clock, $"--KestrelSocks:Limits:DrainTimeout={drainTimeout}");
        using var failures = new MetricCollector<long>(
            host.App.Services.GetRequiredService<IMeterFactory>(), "KestrelSocks", "kestrelsocks.handshake.failures");
        await using var echo = EchoServer.Start();
        await using var tunnel = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(tunnel, "before shutdown"u8.ToArray());
        await using var handshaking = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await handshaking.GreetAsync(AuthMethod.NoAuthentication));

        var health = host.App.Services.GetRequiredService<HealthCheckService>();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(c => c.Tags.Contains("ready"))).Status);

        var stopping = host.StopAsync();

        // The session waiting for its request is closed without a reply while the host is still draining.
        await handshaking.AssertClosedWithoutReplyAsync();
        Assert.False(stopping.IsCompleted, "The handshake was only closed when the drain ended.");

        // Draining is not ready: a load balancer sends no new clients.
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(c => c.Tags.Contains("ready"))).Status);

        // The listener is gone, but the tunnel still relays both ways.
        var refused = await Assert.ThrowsAsync<SocketException>(() => SocksTestClient.ConnectAsync(host.SocksEndPoint));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        await ConnectTests.AssertEchoesAsync(tunnel, "while draining"u8.ToArray());
        await VirtualTime.AssertNotYetAsync(clock, drainTimeout - TimeSpan.FromSeconds(1), stopping, "The end of the drain");
        await ConnectTests.AssertEchoesAsync(tunnel, "a second before the end"u8.ToArray());

        // When the drain timeout runs out the host aborts what is left.
        clock.Advance(TimeSpan.FromSeconds(1));
        await stopping.WaitAsync(TestTimeouts.Default);
        var end = await tunnel.ReadUntilClosedAsync();
        Assert.Empty(end.Data);

        var shutdownFailures = failures.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue("error.type", out var type) && (string?)type == "shutdown")
            .Sum(m => m.Value);
        Assert.Equal(1, shutdownFailures);
    }

    [Fact]
    public async Task StopAsync_SessionsBeforeTheirReply_AreClosedAtOnce()
    {
        // The clock never moves: a stop that waited for any timeout would never end.
        var clock = new FakeTimeProvider();
        await using var host = await ProxyHost.StartAsync(
            _output, clock, "--KestrelSocks:Limits:DrainTimeout=00:05:00", "--KestrelSocks:Limits:ConnectTimeout=00:00:30");
        await using var silent = await FullBacklogListener.StartAsync();

        // One client has said nothing yet; one waits for a CONNECT to a destination that never answers.
        await using var quiet = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await using var connecting = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await connecting.GreetAsync(AuthMethod.NoAuthentication));
        await connecting.SendAsync(SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(silent.EndPoint)));
        await host.AssertMetricAsync(2, "kestrelsocks_sessions_active");

        var stopping = host.StopAsync();

        await quiet.AssertClosedWithoutReplyAsync();
        await connecting.AssertClosedWithoutReplyAsync();
        await stopping.WaitAsync(TestTimeouts.Default);
    }

    [Fact]
    public async Task StopAsync_TunnelThatEndsWhileDraining_LetsTheHostStopEarly()
    {
        // The clock never moves: the stop ends because the tunnel did, not because a timeout passed.
        var clock = new FakeTimeProvider();
        await using var host = await ProxyHost.StartAsync(_output, clock, "--KestrelSocks:Limits:DrainTimeout=00:05:00");
        await using var destination = ReplyAfterEofServer.Start();
        await using var tunnel = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, destination.EndPoint);
        await tunnel.SendAsync("the last request"u8.ToArray());

        var stopping = host.StopAsync();

        // The client finishes its exchange normally during the drain, and gets the whole answer.
        tunnel.ShutdownSend();
        var end = await tunnel.ReadUntilClosedAsync();
        Assert.Equal(ReplyAfterEofServer.ResponseFor("the last request".Length), end.Data);
        Assert.False(end.WasReset);

        await stopping.WaitAsync(TestTimeouts.Default);
    }
}
