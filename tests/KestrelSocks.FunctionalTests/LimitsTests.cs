using System.Diagnostics;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>The session cap and the idle timeout.</summary>
public sealed class LimitsTests
{
    private readonly ITestOutputHelper _output;

    public LimitsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task MaxConcurrentSessions_ConnectionPastTheLimit_IsClosedWithoutReplyAndCounted()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Limits:MaxConcurrentSessions=2");
        await using var echo = EchoServer.Start();
        await using var first = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        var second = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        try
        {
            await SocksTestClient.AssertRefusedAtAcceptAsync(host.SocksEndPoint);

            await host.AssertMetricAsync(1, "kestrelsocks_connections_rejected_total", ("socks_reject_reason", "session_limit"));
            await host.AssertMetricAsync(2, "kestrelsocks_sessions_active");

            // The admitted sessions were not disturbed by the refusal.
            await ConnectTests.AssertEchoesAsync(first, "first"u8.ToArray());
            await ConnectTests.AssertEchoesAsync(second, "second"u8.ToArray());
        }
        finally
        {
            await second.DisposeAsync();
        }

        // Once a session ends its slot is free again (the server needs a moment to notice the close).
        await Eventually.AssertAsync(
            async () =>
            {
                // Admitted: the greeting is answered. Refused: the connection just closes.
                await using var next = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
                try
                {
                    return await next.GreetAsync(AuthMethod.NoAuthentication) == AuthMethod.NoAuthentication;
                }
                catch (Exception e) when (e is EndOfStreamException or SocketException)
                {
                    return false;
                }
            },
            () => "a new session is still refused after one of the two ended");
    }

    [Fact]
    public async Task IdleTimeout_ClosesATunnelWithNoTraffic()
    {
        var idleTimeout = TimeSpan.FromSeconds(1);
        await using var host = await ProxyHost.StartAsync(_output, $"--KestrelSocks:Limits:IdleTimeout={idleTimeout}");
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(client, "then silence"u8.ToArray());

        var stopwatch = Stopwatch.StartNew();
        var end = await client.ReadUntilClosedAsync();

        Assert.Empty(end.Data);
        // The proxy's clock started at its last relayed byte, a little before this stopwatch: allow for that.
        Assert.True(stopwatch.Elapsed >= idleTimeout - TimeSpan.FromMilliseconds(250), $"Closed after {stopwatch.Elapsed}, before the idle timeout.");
        Assert.True(stopwatch.Elapsed < idleTimeout + TimeSpan.FromSeconds(5), $"Closed only after {stopwatch.Elapsed}.");
        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
    }

    [Fact]
    public async Task IdleTimeout_BusyTunnelOutlivesIt()
    {
        var idleTimeout = TimeSpan.FromSeconds(1);
        await using var host = await ProxyHost.StartAsync(_output, $"--KestrelSocks:Limits:IdleTimeout={idleTimeout}");
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);

        // Round trips back to back for well over the idle timeout: traffic keeps pushing the deadline out.
        var stopwatch = Stopwatch.StartNew();
        var roundTrips = 0;
        while (stopwatch.Elapsed < idleTimeout * 2.5)
        {
            await ConnectTests.AssertEchoesAsync(client, "busy"u8.ToArray());
            roundTrips++;
        }

        Assert.True(roundTrips > 10, $"Only {roundTrips} round trips.");
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_active");
    }
}
