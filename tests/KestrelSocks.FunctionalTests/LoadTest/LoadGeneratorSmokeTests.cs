using System.Net;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Hosting;
using KestrelSocks.LoadTest;
using KestrelSocks.LoadTest.Reporting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace KestrelSocks.FunctionalTests.LoadTest;

/// <summary>
/// Each load mode, called as a library, runs for about a second against the real host on ephemeral loopback ports,
/// on the direct path and through the proxy, and must finish with every payload verified. No timing is asserted.
/// </summary>
public sealed class LoadGeneratorSmokeTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(30);

    private readonly string _output = Path.Combine(Path.GetTempPath(), "kestrelsocks-loadtest-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;
    private IPEndPoint? _proxy;

    public async Task InitializeAsync()
    {
        _app = KestrelSocksApplication.Build(
        [
            "--KestrelSocks:Listen:0=127.0.0.1:0",
            "--KestrelSocks:Admin:Listen:0=127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            .. ProxyHost.ManyClientsFromOneAddress,
            .. ProxyHost.LoopbackRule,
        ]);
        await _app.StartAsync();
        _proxy = _app.Services.GetRequiredService<SocksEndPoints>().Socks[0];
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_output))
        {
            Directory.Delete(_output, recursive: true);
        }
    }

    [Fact]
    public async Task TcpBulk_VerifiesEveryByteBothWays()
    {
        var report = await RunAsync(LoadMode.TcpBulk);

        Assert.Equal(8, report.Cases.Count);
        Assert.All(report.Cases, c => Assert.True(c.Headline!.Value > 0, $"{c.Case} via {c.Target} moved nothing"));
    }

    [Fact]
    public async Task TcpRequestResponse_CompletesSessions()
    {
        var report = await RunAsync(LoadMode.TcpRequestResponse);

        Assert.All(report.Cases, c => Assert.Equal(0, c.ErrorCount));
    }

    [Fact]
    public async Task TcpLatency_CompletesRoundTrips()
    {
        var report = await RunAsync(LoadMode.TcpLatency);

        Assert.Equal(2, report.Cases.Count);
    }

    [Fact]
    public async Task TcpFairness_MeasuresPingPongBesideBulkLoad_WithVerifiedPayloads()
    {
        var report = await RunAsync(LoadMode.TcpFairness);

        Assert.Equal(2, report.Cases.Count);
        Assert.All(report.Cases, c => Assert.True(c.Verified, c.Verification));
    }

    [Fact]
    public async Task Udp_EchoesEveryDatagramThroughTheRelay()
    {
        var report = await RunAsync(LoadMode.Udp);

        Assert.Equal(4, report.Cases.Count);
        Assert.All(report.Cases, c => Assert.All(c.Steps!, s => Assert.Equal(0, s.Corrupt)));
    }

    [Fact]
    public async Task Idle_HoldsSessionsAndMeasuresMemory()
    {
        var report = await RunAsync(LoadMode.Idle);

        var proxied = Assert.Single(report.Cases, c => c.Target == "kestrelsocks");
        Assert.Contains(proxied.Metrics, m => m.Name == "memory per session");

        // The comparison reads reports back from JSON and writes its own tables and charts.
        var comparison = Comparison.Build([ReportJson.Read(Path.Combine(_output, "report.json"))!], "kestrelsocks", Path.Combine(_output, "comparison"), title: null);
        Assert.Contains("| 100 sessions | kestrelsocks |", comparison, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_output, "comparison", "idle.svg")));
    }

    private async Task<LoadTestReport> RunAsync(LoadMode mode)
    {
        var options = new LoadTestOptions
        {
            Modes = [mode],
            Proxy = _proxy,
            ProxyName = "kestrelsocks",
            ServerPid = Environment.ProcessId,
            Duration = TimeSpan.FromSeconds(0.25),
            Warmup = TimeSpan.FromSeconds(0.05),
            Streams = [1, 2],
            Concurrency = 4,
            Associations = [1, 10],
            UdpRates = [500, 1000],
            UdpStepDuration = TimeSpan.FromSeconds(0.25),
            Sessions = 100,
            IdleTarget = IdleTargetPlacement.InProcess,
            IdleSettle = TimeSpan.FromSeconds(0.05),
            OutputDirectory = _output,
        };
        using var timeout = new CancellationTokenSource(_timeout);

        var report = await LoadRunner.RunAsync(options, progress: null, timeout.Token);

        Assert.NotEmpty(report.Cases);
        Assert.All(report.Cases, c => Assert.True(c.Verified, $"{c.Mode} {c.Case} via {c.Target}: {c.Verification}; {string.Join("; ", c.Errors)}"));
        Assert.Contains(report.Cases, c => c.Target == "direct");
        Assert.Contains(report.Cases, c => c.Target == "kestrelsocks");
        Assert.True(File.Exists(Path.Combine(_output, "report.md")));
        Assert.True(File.Exists(Path.Combine(_output, "report.json")));
        Assert.True(File.Exists(Path.Combine(_output, LoadModeNames.ToName(mode) + ".svg")));
        return report;
    }
}
