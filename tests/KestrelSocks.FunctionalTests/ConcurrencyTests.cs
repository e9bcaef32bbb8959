using KestrelSocks.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Many tunnels open at the same time, each carrying its own bytes.</summary>
public sealed class ConcurrencyTests
{
    // 500 tunnels hold 2,000 sockets in this process (client, proxy's two legs, echo): far below the 20,000 file limit.
    private const int Sessions = 500;
    private const int PayloadSize = 8 * 1024;
    private const int OpeningAtOnce = 50;

    private readonly ITestOutputHelper _output;

    public ConcurrencyTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task FiveHundredConcurrentSessions_EachEchoesItsOwnBytes()
    {
        await using var host = await ProxyHost.StartAsync(_output, ProxyHost.ManyClientsFromOneAddress);
        await using var echo = EchoServer.Start();
        var clients = new SocksTestClient?[Sessions];
        try
        {
            using (var gate = new SemaphoreSlim(OpeningAtOnce))
            {
                await Task.WhenAll(Enumerable.Range(0, Sessions).Select(async i =>
                {
                    Assert.True(await gate.WaitAsync(TestTimeouts.Long), "Timed out waiting for a turn to open a session.");
                    try
                    {
                        clients[i] = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
                    }
                    finally
                    {
                        gate.Release();
                    }
                })).WaitAsync(TestTimeouts.Long);
            }

            // All of them are open at once before any sends a byte.
            await host.AssertMetricAsync(Sessions, "kestrelsocks_sessions_active");

            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                var payload = new byte[PayloadSize];
                new Random(i).NextBytes(payload);
                var received = client!.ReceiveExactlyAsync(payload.Length);
                await client.SendAsync(payload);
                ConnectTests.AssertSameBytes(payload, await received);
            })).WaitAsync(TestTimeouts.Long);
        }
        finally
        {
            foreach (var client in clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }

        await host.AssertMetricAsync(Sessions, "kestrelsocks_sessions_total", ("socks_command", "connect"), ("socks_reply", "succeeded"));
        await host.AssertMetricAsync(2.0 * Sessions * PayloadSize, "kestrelsocks_relay_bytes_total");
        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
        Assert.Empty(host.Logs.Errors);
    }
}
