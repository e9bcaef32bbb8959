using System.Net;
using KestrelSocks.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Exporter;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// The real proxy host, built by <see cref="KestrelSocksApplication.Build"/> exactly as the executable builds it, listening
/// for SOCKS and for admin HTTP on loopback port 0. Settings are command-line arguments such as
/// <c>--KestrelSocks:Limits:HandshakeTimeout=00:00:01</c>; later ones win.
/// </summary>
internal sealed class ProxyHost : IAsyncDisposable
{
    private readonly HttpClient _http;
    private bool _stopped;

    private ProxyHost(WebApplication app, IPEndPoint socks, IPEndPoint admin, TestLogSink logs)
    {
        App = app;
        SocksEndPoint = socks;
        AdminEndPoint = admin;
        Logs = logs;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://{admin}/"),

            // The first request of a test run JITs the whole HTTP and exporter path: on a loaded machine it takes seconds.
            Timeout = TestTimeouts.Long,
        };
    }

    public WebApplication App { get; }

    public IPEndPoint SocksEndPoint { get; }

    public IPEndPoint AdminEndPoint { get; }

    public TestLogSink Logs { get; }

    /// <summary>
    /// For tests that stand in for many clients from one loopback address (hundreds of sessions at once, thousands in
    /// a burst): lifts the per-client limits, which would otherwise see one client doing all of it.
    /// </summary>
    public static readonly string[] ManyClientsFromOneAddress =
    [
        "--KestrelSocks:Limits:MaxHandshakesPerClient=1024",
        "--KestrelSocks:Limits:MaxSessionsPerClient=10000",
        "--KestrelSocks:Limits:NewSessionsPerClientPerSecond=0",
        "--KestrelSocks:Udp:MaxAssociationsPerClient=20000",
    ];

    /// <summary>
    /// A rule that opens loopback past the egress guard, last of all rules (a test's own rules, from index 0, come
    /// first): the tests talk to echo servers on loopback. Tests of the guard itself start with <see cref="StartGuardedAsync"/>.
    /// </summary>
    public static readonly string[] LoopbackRule =
    [
        "--KestrelSocks:Access:Rules:999:Name=tests-loopback",
        "--KestrelSocks:Access:Rules:999:Action=Allow",
        "--KestrelSocks:Access:Rules:999:Destinations:0=127.0.0.0/8",
        "--KestrelSocks:Access:Rules:999:Destinations:1=::1/128",
    ];

    public static Task<ProxyHost> StartAsync(ITestOutputHelper? output, params string[] settings) =>
        StartAsync(output, settings, configure: null);

    public static Task<ProxyHost> StartAsync(ITestOutputHelper? output, IEnumerable<string> settings, Action<WebApplicationBuilder>? configure) =>
        StartCoreAsync(output, [.. LoopbackRule, .. settings], configure);

    /// <summary>
    /// As <see cref="StartAsync(ITestOutputHelper?, string[])"/>, with <paramref name="clock"/> as the host's
    /// <see cref="TimeProvider"/>: the test moves time, and a timeout fires when the test says, not when the machine does.
    /// </summary>
    public static Task<ProxyHost> StartAsync(ITestOutputHelper? output, FakeTimeProvider clock, params string[] settings) =>
        StartAsync(output, settings, builder => builder.Services.AddSingleton<TimeProvider>(clock));

    /// <summary>Without <see cref="LoopbackRule"/>: the egress guard as it ships.</summary>
    public static Task<ProxyHost> StartGuardedAsync(ITestOutputHelper? output, params string[] settings) =>
        StartCoreAsync(output, settings, configure: null);

    public static Task<ProxyHost> StartGuardedAsync(ITestOutputHelper? output, IEnumerable<string> settings, Action<WebApplicationBuilder>? configure) =>
        StartCoreAsync(output, settings, configure);

    private static async Task<ProxyHost> StartCoreAsync(ITestOutputHelper? output, IEnumerable<string> settings, Action<WebApplicationBuilder>? configure)
    {
        string[] args = ["--KestrelSocks:Listen:0=127.0.0.1:0", "--KestrelSocks:Admin:Listen:0=127.0.0.1:0", .. settings];
        var logs = new TestLogSink(output);
        var app = KestrelSocksApplication.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddFilter("KestrelSocks", LogLevel.Debug);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            builder.Logging.AddProvider(logs);

            // Every scrape sees the counters as they are now, not a copy cached for a few hundred milliseconds.
            builder.Services.Configure<PrometheusAspNetCoreOptions>(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            configure?.Invoke(builder);
        });

        try
        {
            await app.StartAsync().WaitAsync(TestTimeouts.Long);
        }
        catch
        {
            await app.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Default);
            throw;
        }

        var endPoints = app.Services.GetRequiredService<SocksEndPoints>();
        return new ProxyHost(app, endPoints.Socks[0], endPoints.Admin[0], logs);
    }

    /// <summary>GET on the admin listener.</summary>
    public Task<HttpResponseMessage> GetAdminAsync(string path) => _http.GetAsync(new Uri(path, UriKind.Relative));

    public async Task<MetricsSnapshot> ScrapeMetricsAsync()
    {
        var text = await _http.GetStringAsync(new Uri("metrics", UriKind.Relative));
        return MetricsSnapshot.Parse(text);
    }

    /// <summary>
    /// Scrapes until the summed value of <paramref name="name"/> with <paramref name="labels"/> equals
    /// <paramref name="expected"/>. A series that is never exported fails, even when 0 is expected: a metric that
    /// vanished must not pass for one that reads 0.
    /// </summary>
    public async Task AssertMetricAsync(double expected, string name, params (string Name, string Value)[] labels)
    {
        var last = double.NaN;
        var exported = false;
        await Eventually.AssertAsync(
            async () =>
            {
                exported = (await ScrapeMetricsAsync()).TryGet(name, labels, out last);
                return exported && last == expected;
            },
            () => exported
                ? $"{name}{{{string.Join(",", labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}} is {last}, expected {expected}"
                : $"No sample of {name}{{{string.Join(",", labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}} was exported; expected {expected}");
    }

    /// <summary>Stops the host as a SIGTERM would: Kestrel unbinds, asks every connection to close, and waits up to the drain timeout.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        _stopped = true;
        return App.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_stopped)
        {
            // Tests close their clients first; a session still open here is cut short rather than drained.
            using var timeout = new CancellationTokenSource(TestTimeouts.Default);
            await StopAsync(timeout.Token).WaitAsync(TestTimeouts.Long);
        }

        await App.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Default);
    }
}
