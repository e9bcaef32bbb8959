using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using KestrelSocks.FunctionalTests.Bind;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// A real Prometheus scrapes the proxy while it serves every command: the dashboard's every query must then return
/// series, and promtool must accept the exposition as it is.
/// </summary>
public sealed partial class PrometheusTests
{
    private const string Username = "alice";
    private const string DeniedRule = "tests-denied";
    private static readonly IPEndPoint s_deniedDestination = new(IPAddress.Parse("127.0.0.9"), 9);

    private static readonly string[] s_settings =
    [
        "--KestrelSocks:Authentication:UsernamePassword=true",
        $"--KestrelSocks:Authentication:Users:0:Username={Username}",
        "--KestrelSocks:Authentication:Users:0:Password=correct horse battery staple",
        "--KestrelSocks:Authentication:HashIterations=1000",
        $"--KestrelSocks:Access:Rules:0:Name={DeniedRule}",
        "--KestrelSocks:Access:Rules:0:Action=Deny",
        $"--KestrelSocks:Access:Rules:0:Destinations:0={s_deniedDestination.Address}/32",
    ];

    private readonly ITestOutputHelper _output;

    public PrometheusTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task EveryDashboardQuery_ReturnsSeries_FromARealPrometheusScrapingTheProxy()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_settings);
        await using var prometheus = await PrometheusServer.StartAsync(host.AdminEndPoint);

        await DriveEveryCommandAsync(host);

        // The runtime reports heap size after a collection; one has surely run by now, but the panel must not depend on luck.
        GC.Collect();

        await WaitForSeriesAsync(prometheus, $"up{{job=\"{PrometheusServer.Job}\"}} == 1", "the scrape target");

        var dashboards = Directory.GetFiles(Path.Combine(RepositoryRoot(), "deploy", "grafana"), "*.json");
        Assert.NotEmpty(dashboards);
        foreach (var dashboard in dashboards)
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(dashboard));
            var variables = await ResolveVariablesAsync(prometheus, document.RootElement, Path.GetFileName(dashboard));
            var queries = new List<(string Panel, string Expression)>();
            CollectQueries(document.RootElement, panel: "(dashboard)", queries);
            Assert.NotEmpty(queries);

            var failures = await EvaluateAsync(
                prometheus,
                queries.Select(q => ($"{Path.GetFileName(dashboard)}: {q.Panel}: {q.Expression}", Substitute(q.Expression, variables))).ToList());
            Assert.True(failures.Count == 0, $"Dashboard queries that failed or returned no series:\n{string.Join("\n", failures)}\nPrometheus log:\n{prometheus.Log}");
            _output.WriteLine($"{Path.GetFileName(dashboard)}: {queries.Count} queries returned series");
        }
    }

    [Fact]
    public async Task PromtoolCheckMetrics_AcceptsTheScrape_WithNoWarning()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_settings);
        await DriveEveryCommandAsync(host);

        using var response = await host.GetAdminAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var exposition = await response.Content.ReadAsStringAsync();
        Assert.Contains("kestrelsocks_bind_accept_wait_seconds_bucket", exposition, StringComparison.Ordinal);

        var (exitCode, output) = await PrometheusServer.CheckMetricsAsync(exposition);

        Assert.True(exitCode == 0 && output.Length == 0, $"promtool check metrics exited {exitCode}:\n{output}");
    }

    /// <summary>A CONNECT that relays, one the rule set denies, a UDP ASSOCIATE with a datagram, a BIND and a failed login.</summary>
    private static async Task DriveEveryCommandAsync(ProxyHost host)
    {
        await using (var echo = EchoServer.Start())
        await using (var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint))
        {
            await ConnectTests.AssertEchoesAsync(client, "through a tunnel"u8.ToArray());
        }

        await using (var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint))
        {
            await client.GreetAsync(AuthMethod.NoAuthentication);
            var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(s_deniedDestination));
            Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
        }

        await using (var echo = UdpEchoServer.Start())
        await using (var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint))
        {
            using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
            await association.EchoAsync(echo.EndPoint, "one datagram"u8.ToArray());
        }

        await using (var control = await BindTests.RequestBindAsync(host.SocksEndPoint, new IPEndPoint(IPAddress.Loopback, 0)))
        {
            var listening = await BindTests.ReadFirstReplyAsync(control);
            using var peer = await LoopbackPeer.ConnectAsync(listening);
            Assert.Equal(ReplyCode.Succeeded, (await control.ReadReplyAsync()).Reply);
        }

        await using (var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint))
        {
            Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
            Assert.Equal(0x01, await client.AuthenticateAsync(Username, "wrong password"));
            await client.AssertClosedWithoutReplyAsync();
        }

        await host.AssertMetricAsync(1, "kestrelsocks_access_denied_total", ("socks_access_rule", DeniedRule));
        await host.AssertMetricAsync(1, "kestrelsocks_auth_failures_total", ("socks_auth_failure", "failed"));
        await host.AssertMetricAsync(1, "kestrelsocks_bind_sessions_total", ("socks_bind_result", "accepted"));
        await host.AssertMetricAsync(1, "kestrelsocks_udp_datagrams_total", ("socks_direction", "upstream"));
        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
    }

    /// <summary>
    /// Grafana's interval variables become a window longer than the test, so every scrape is in it; each query variable
    /// (label_values) takes the first value Prometheus knows, as Grafana would show it.
    /// </summary>
    private static async Task<Dictionary<string, string>> ResolveVariablesAsync(PrometheusServer prometheus, JsonElement dashboard, string file)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["__rate_interval"] = "5m",
            ["__interval"] = "1s",
            ["__range"] = "5m",
        };

        if (!dashboard.TryGetProperty("templating", out var templating))
        {
            return variables;
        }

        foreach (var variable in templating.GetProperty("list").EnumerateArray())
        {
            var name = variable.GetProperty("name").GetString()!;
            if (variable.GetProperty("type").GetString() != "query")
            {
                continue;
            }

            var query = variable.GetProperty("query");
            var text = query.ValueKind == JsonValueKind.Object ? query.GetProperty("query").GetString()! : query.GetString()!;
            var match = LabelValues().Match(text);
            Assert.True(match.Success, $"{file}: variable {name}: only label_values(selector, label) is understood here, not {text}");
            var label = match.Groups["label"].Value;
            var series = await WaitForSeriesAsync(
                prometheus, $"count by ({label}) ({Substitute(match.Groups["selector"].Value, variables)})", $"{file}: variable {name}: {text}");
            variables[name] = series[0][label];
        }

        return variables;
    }

    private static void CollectQueries(JsonElement element, string panel, List<(string Panel, string Expression)> queries)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                if (element.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
                {
                    panel = title.GetString()!;
                }

                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        queries.Add((panel, property.Value.GetString()!));
                    }
                    else if (property.Name != "templating")
                    {
                        CollectQueries(property.Value, panel, queries);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    CollectQueries(item, panel, queries);
                }

                break;
        }
    }

    private static string Substitute(string expression, Dictionary<string, string> variables)
    {
        var result = Variable().Replace(expression, match =>
        {
            var name = match.Groups["braced"].Success ? match.Groups["braced"].Value : match.Groups["bare"].Value;
            Assert.True(variables.TryGetValue(name, out var value), $"Unknown dashboard variable ${name} in {expression}");
            return value;
        });
        return result;
    }

    /// <summary>Scrapes keep arriving, so a query with no series yet is asked again; an error fails at once.</summary>
    private static async Task<List<string>> EvaluateAsync(PrometheusServer prometheus, List<(string Name, string Expression)> queries)
    {
        var pending = queries;
        var failures = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var empty = new List<(string Name, string Expression)>();
            foreach (var query in pending)
            {
                var result = await prometheus.QueryAsync(query.Expression);
                if (result.Error is not null)
                {
                    failures.Add($"{query.Name} -> {result.Error}");
                }
                else if (result.Series.Count == 0)
                {
                    empty.Add(query);
                }
            }

            if (empty.Count == 0 || stopwatch.Elapsed >= TestTimeouts.Long)
            {
                failures.AddRange(empty.Select(q => $"{q.Name} -> no series (evaluated as {q.Expression})"));
                return failures;
            }

            pending = empty;
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
    }

    private static async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> WaitForSeriesAsync(PrometheusServer prometheus, string expression, string what)
    {
        PrometheusResult? last = null;
        await Eventually.AssertAsync(
            async () =>
            {
                last = await prometheus.QueryAsync(expression);
                Assert.True(last.Error is null, $"{what}: {expression} -> {last.Error}");
                return last.Series.Count > 0;
            },
            () => $"{what}: {expression} returned no series. Prometheus log:\n{prometheus.Log}",
            TestTimeouts.Long);
        return last!.Series;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "KestrelSocks.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No KestrelSocks.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^\s*label_values\(\s*(?<selector>.+?)\s*,\s*(?<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\$(\{(?<braced>[a-zA-Z_][a-zA-Z0-9_]*)\}|(?<bare>[a-zA-Z_][a-zA-Z0-9_]*))")]
    private static partial Regex Variable();
}
