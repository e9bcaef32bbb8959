using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using KestrelSocks.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// SIGTERM to the real executable, in the order a load balancer needs: readiness fails first while the admin endpoint
/// keeps answering, then the SOCKS listener closes, the open tunnel finishes with every byte, and the process exits 0.
/// </summary>
public sealed class DrainTests
{
    private readonly ITestOutputHelper _output;

    public DrainTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task SigTerm_NotReadyFirst_ThenListenersClose_TheTunnelFinishes_ThenExitZero()
    {
        await using var server = ServerProcess.Start("--KestrelSocks:Limits:DrainDelay=00:00:01", "--KestrelSocks:Limits:DrainTimeout=00:01:00");
        var socks = await server.WaitForSocksEndPointAsync();
        var admin = await server.WaitForAdminEndPointAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://{admin}/"), Timeout = TestTimeouts.Default };
        await using var echo = EchoServer.Start();
        await using var tunnel = await SocksTestClient.OpenTunnelAsync(socks, echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(tunnel, "before"u8.ToArray());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("healthz/ready", UriKind.Relative))).StatusCode);
        Assert.Equal(0, await DrainingAsync(http));

        server.SendTerminate();

        // 1. Not ready, and the metrics say why, while the SOCKS listener still accepts.
        await Eventually.AssertAsync(
            async () => (await http.GetAsync(new Uri("healthz/ready", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable,
            () => "readiness did not turn false after SIGTERM");

        // The exporter may answer from a scrape a moment old.
        await Eventually.AssertAsync(async () => await DrainingAsync(http) == 1, () => "kestrelsocks_draining did not become 1");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("healthz/live", UriKind.Relative))).StatusCode);

        // 2. After the delay the listener closes: a new client is refused, the admin endpoint still answers.
        await server.WaitForOutputAsync("SOCKS listeners closed");
        var refused = await Assert.ThrowsAsync<SocketException>(() => SocksTestClient.ConnectAsync(socks));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Equal(1, await DrainingAsync(http));

        // 3. The open tunnel carries a whole transfer, byte for byte, and the drain waits for it.
        var payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        var sending = tunnel.SendAsync(payload);
        var echoed = await tunnel.ReceiveExactlyAsync(payload.Length);
        await sending;
        Assert.True(payload.AsSpan().SequenceEqual(echoed), "The tunnel lost or changed bytes while draining.");
        Assert.True(server.IsRunning, "The server exited while a tunnel was open.");

        // 4. The last session ends; the process exits by itself, cleanly.
        tunnel.ShutdownSend();
        var end = await tunnel.ReadUntilClosedAsync();
        Assert.False(end.WasReset);
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Contains("Drained: the last session ended", server.StandardOutput, StringComparison.Ordinal);
        _output.WriteLine(server.AllOutput);

        var order = new[] { "KestrelSocks stopping: not ready from now", "SOCKS listeners closed", "Drained:" }
            .Select(line => server.StandardOutput.IndexOf(line, StringComparison.Ordinal)).ToArray();
        Assert.All(order, index => Assert.True(index >= 0));
        Assert.True(order[0] < order[1] && order[1] < order[2], "The drain's lines are out of order.");
    }

    [Fact]
    public async Task SigTerm_TunnelOutlastsTheDrain_IsAbortedAndTheProcessStillExitsZero()
    {
        await using var server = ServerProcess.Start("--KestrelSocks:Limits:DrainTimeout=00:00:01");
        var socks = await server.WaitForSocksEndPointAsync();
        await using var echo = EchoServer.Start();
        await using var tunnel = await SocksTestClient.OpenTunnelAsync(socks, echo.EndPoint);

        server.SendTerminate();

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Contains("1 sessions still open are aborted", server.StandardOutput, StringComparison.Ordinal);
        var end = await tunnel.ReadUntilClosedAsync();
        Assert.Empty(end.Data);
    }

    private static async Task<double> DrainingAsync(HttpClient http)
    {
        var metrics = MetricsSnapshot.Parse(await http.GetStringAsync(new Uri("metrics", UriKind.Relative)));
        return metrics.Require("kestrelsocks_draining");
    }
}
