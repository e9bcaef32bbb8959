using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package) in its own temporary directory, on a free loopback port,
/// scraping one target every second. Queries go through its HTTP API, as Grafana's would.
/// </summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    public const string Job = "kestrelsocks";

    private const string PrometheusPath = "/usr/bin/prometheus";
    private const string PromtoolPath = "/usr/bin/promtool";

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _log;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, StringBuilder log, Uri address)
    {
        _process = process;
        _directory = directory;
        _log = log;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = address, Timeout = TestTimeouts.Default };
    }

    /// <summary>What Prometheus has printed so far, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<PrometheusServer> StartAsync(IPEndPoint target)
    {
        RequireInstalled(PrometheusPath);
        var directory = Directory.CreateTempSubdirectory("kestrelsocks-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: {Job}
                static_configs:
                  - targets: ["{target}"]
            """);

        var port = FreeLoopbackPort();
        var startInfo = new ProcessStartInfo(PrometheusPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var arg in (string[])
            [
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            ])
        {
            startInfo.ArgumentList.Add(arg);
        }

        var log = new StringBuilder();
        var process = Process.Start(startInfo)!;
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var server = new PrometheusServer(process, directory, log, new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            await Eventually.AssertAsync(
                async () =>
                {
                    Assert.False(process.HasExited, $"Prometheus exited with code {(process.HasExited ? process.ExitCode : 0)} at start. Its log:\n{server.Log}");
                    return await server.IsReadyAsync();
                },
                () => $"Prometheus on 127.0.0.1:{port} did not become ready. Its log:\n{server.Log}",
                TestTimeouts.Long);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Evaluates an instant query; the result is the series it returned, or the error Prometheus reported.</summary>
    public async Task<PrometheusResult> QueryAsync(string expression)
    {
        using var response = await _http.GetAsync(new Uri("api/v1/query?query=" + Uri.EscapeDataString(expression), UriKind.Relative));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            return new PrometheusResult([], $"{root.GetProperty("errorType").GetString()}: {root.GetProperty("error").GetString()}");
        }

        var series = new List<IReadOnlyDictionary<string, string>>();
        var data = root.GetProperty("data");
        if (data.GetProperty("resultType").GetString() is "vector" or "matrix")
        {
            foreach (var item in data.GetProperty("result").EnumerateArray())
            {
                series.Add(item.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal));
            }
        }
        else
        {
            // A scalar or string: one value, no labels.
            series.Add(new Dictionary<string, string>(StringComparer.Ordinal));
        }

        return new PrometheusResult(series, Error: null);
    }

    /// <summary>Runs <c>promtool check metrics</c> on a scrape: its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        RequireInstalled(PromtoolPath);
        var startInfo = new ProcessStartInfo(PromtoolPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("check");
        startInfo.ArgumentList.Add("metrics");

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TestTimeouts.Long);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().WaitAsync(TestTimeouts.Default);
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Fails, never skips: a test that quietly does not run proves nothing. CI installs the package.</summary>
    private static void RequireInstalled(string path)
    {
        Assert.True(
            File.Exists(path),
            $"{path} is required by this test and is not installed: apt-get install prometheus (Debian's package has prometheus and promtool; .ci/run installs it).");
    }

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await _http.GetAsync(new Uri("-/ready", UriKind.Relative));
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        // Prometheus takes a port, not a socket: this one is free now, and nothing else in the test run asks for it by number.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.AppendLine(line);
            }
        }
    }
}
