using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Time.Testing;
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
        var clock = new FakeTimeProvider();
        var idleTimeout = TimeSpan.FromMinutes(5);
        await using var host = await ProxyHost.StartAsync(_output, clock, $"--KestrelSocks:Limits:IdleTimeout={idleTimeout}");
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(client, "then silence"u8.ToArray());
        var closed = client.ReadUntilClosedAsync();

        await VirtualTime.AssertNotYetAsync(clock, idleTimeout - TimeSpan.FromSeconds(1), closed, "The idle close");
        var end = await VirtualTime.AdvanceUntilAsync(clock, TimeSpan.FromSeconds(1), idleTimeout, closed);

        Assert.Empty(end.Data);
        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
        await host.AssertMetricAsync(1, "kestrelsocks_tunnel_ends_total", ("socks_tunnel_end", "idle_timeout"));
        await host.AssertMetricAsync(0, "kestrelsocks_tunnel_ends_total", ("socks_tunnel_end", "completed"));
    }

    [Fact]
    public async Task IdleTimeout_BusyTunnelOutlivesIt()
    {
        var clock = new FakeTimeProvider();
        var idleTimeout = TimeSpan.FromMinutes(5);
        await using var host = await ProxyHost.StartAsync(_output, clock, $"--KestrelSocks:Limits:IdleTimeout={idleTimeout}");
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);

        // A round trip every half timeout, for three timeouts: each pushes the deadline out again.
        for (var i = 0; i < 6; i++)
        {
            await ConnectTests.AssertEchoesAsync(client, "busy"u8.ToArray());
            clock.Advance(idleTimeout / 2);
        }

        await ConnectTests.AssertEchoesAsync(client, "still open"u8.ToArray());
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_active");
    }
}
