using System.Diagnostics;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// A user's bandwidth over five seconds. The one test here that measures time (the limit is a rate), so it runs
/// alone: other tests on the same two cores would take the share of the proxy or the reader it is timing.
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class UserBandwidthTests
{
    private readonly ITestOutputHelper _output;

    public UserBandwidthTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string> Modes => OperatingSystem.IsLinux() ? ["Splice", "Pipe"] : ["Pipe"];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Bandwidth_HoldsADownloadToTheUsersRate(string mode)
    {
        const long Rate = 2_000_000;
        var measure = TimeSpan.FromSeconds(5);

        // Bytes the proxy has relayed and the client has not read yet sit in buffers; the client pipe (pipe mode) is
        // kept small so that this lag stays a small part of the measure. A burst of a quarter second of the rate lets
        // the tunnel catch up after a short stall of a busy test machine instead of losing those tokens, and is at
        // most 5 % of the measure if such a stall falls on its start.
        await using var host = await ProxyHost.StartAsync(_output,
            [.. UserLimitsTests.s_users, $"--KestrelSocks:Limits:PerUser:Bandwidth={Rate}", $"--KestrelSocks:Limits:PerUser:BandwidthBurst={Rate / 4}",
            $"--KestrelSocks:Relay:Mode={mode}", "--KestrelSocks:Transport:MaxBufferedBytes=65536"]);
        await using var server = BulkSendServer.Start();
        await using var client = await UserLimitsTests.OpenTunnelAsync(host, "alice", server.EndPoint);

        // Read on the thread pool with plain socket calls and a large buffer, so that what limits the client is the
        // proxy and not the hops of the test's own synchronization context. A second of warm-up first: the bucket's
        // burst is spent, the code on the path is compiled, and the transfer runs as it will from then on.
        var (received, elapsed) = await Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Long);
            var buffer = new byte[64 * 1024];
            async Task<long> ReadForAsync(TimeSpan duration, Stopwatch stopwatch)
            {
                long total = 0;
                while (stopwatch.Elapsed < duration)
                {
                    var count = await client.Socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    Assert.True(count > 0, "The tunnel ended during the download.");
                    total += count;
                }

                return total;
            }

            await ReadForAsync(TimeSpan.FromSeconds(1), Stopwatch.StartNew());
            var stopwatch = Stopwatch.StartNew();
            var total = await ReadForAsync(measure, stopwatch);
            return (total, stopwatch.Elapsed);
        });

        var expected = Rate * elapsed.TotalSeconds;
        _output.WriteLine($"{mode}: {received} bytes in {elapsed.TotalSeconds:F3} s, {received / elapsed.TotalSeconds:F0} B/s; expected {expected:F0} bytes");
        // The limit must hold (the upper bound); below it, a reader on two cores shared with the rest of the suite
        // can fall behind the rate on its own, so the lower bound only catches a limit applied at a fraction of itself.
        Assert.InRange(received, expected * 0.5, expected * 1.1);
    }
}
