using System.Globalization;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Modes;
using KestrelSocks.LoadTest.Payload;
using KestrelSocks.LoadTest.Reporting;
using KestrelSocks.LoadTest.Targets;

namespace KestrelSocks.LoadTest;

/// <summary>
/// The generator as a library: starts the loopback targets, runs each requested mode on the direct path and the
/// proxy path, and returns (and optionally writes) the report. The command line and the smoke tests both call this.
/// </summary>
internal static class LoadRunner
{
    public static async Task<LoadTestReport> RunAsync(LoadTestOptions options, TextWriter? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Modes.Count == 0)
        {
            throw new ArgumentException("No mode to run.", nameof(options));
        }

        var report = new LoadTestReport
        {
            Run = RunInfo.Capture(options.Commit, options.Note),
            Settings = DescribeSettings(options),
        };
        var log = new ProgressLog(progress);
        var pattern = new PayloadPattern(options.Seed);
        await using var targets = TargetHost.Start(pattern, options.BulkChunkSize);
        var context = new ModeContext
        {
            Options = options,
            Pattern = pattern,
            Targets = targets,
            Paths = BuildPaths(options),
            Progress = log,
            CancellationToken = cancellationToken,
        };
        if (context.Paths.Count == 0)
        {
            throw new ArgumentException("Nothing to measure: --targets proxy needs --proxy.", nameof(options));
        }

        foreach (var mode in options.Modes)
        {
            log.Write($"mode {LoadModeNames.ToName(mode)}");
            var cases = mode switch
            {
                LoadMode.TcpBulk => await TcpBulkMode.RunAsync(context),
                LoadMode.TcpRequestResponse => await TcpRequestResponseMode.RunAsync(context),
                LoadMode.TcpLatency => await TcpLatencyMode.RunAsync(context),
                LoadMode.TcpFairness => await TcpFairnessMode.RunAsync(context),
                LoadMode.Udp => await UdpMode.RunAsync(context),
                LoadMode.Idle => await IdleMode.RunAsync(context),
                _ => throw new ArgumentOutOfRangeException(nameof(options), mode, "Unknown mode."),
            };
            report.Cases.AddRange(cases);
        }

        report.Run.Finished = DateTimeOffset.Now;
        report.Run.LoadAverageEnd = RunInfo.ReadLoadAverage();
        if (options.OutputDirectory is { } directory)
        {
            ReportWriter.Write(report, directory);
            log.Write($"report written to {Path.GetFullPath(directory)}");
        }

        return report;
    }

    private static List<LoadPath> BuildPaths(LoadTestOptions options)
    {
        var paths = new List<LoadPath>();
        if (options.Targets != TargetSelection.Proxy)
        {
            paths.Add(new LoadPath(LoadPath.DirectName, new SocksClient(null)));
        }

        if (options.Targets != TargetSelection.Direct && options.Proxy is { } proxy)
        {
            paths.Add(new LoadPath(options.ProxyName, new SocksClient(new ProxySettings(proxy, options.Username, options.Password))));
        }

        return paths;
    }

    private static Dictionary<string, string> DescribeSettings(LoadTestOptions o)
    {
        static string List<T>(IEnumerable<T> values) => string.Join(',', values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));
        var settings = new Dictionary<string, string>
        {
            ["modes"] = string.Join(',', o.Modes.Select(LoadModeNames.ToName)),
            ["proxy"] = o.Proxy?.ToString() ?? "none",
            ["proxy name"] = o.ProxyName,
            ["authentication"] = o.Username is null ? "none" : "username/password",
            ["server pid"] = o.ServerPid?.ToString(CultureInfo.InvariantCulture) ?? "none",
            ["targets"] = o.Targets.ToString().ToLowerInvariant(),
            ["duration"] = o.Duration.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s",
            ["warm-up"] = o.Warmup.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s",
        };
        if (o.Modes.Contains(LoadMode.TcpBulk))
        {
            settings["bulk streams"] = List(o.Streams);
            settings["bulk chunk"] = o.BulkChunkSize.ToString(CultureInfo.InvariantCulture) + " B";
        }

        if (o.Modes.Contains(LoadMode.TcpRequestResponse) || o.Modes.Contains(LoadMode.TcpLatency))
        {
            settings["rr concurrency"] = o.Concurrency.ToString(CultureInfo.InvariantCulture);
            settings["message"] = o.MessageSize.ToString(CultureInfo.InvariantCulture) + " B";
        }

        if (o.Modes.Contains(LoadMode.Udp))
        {
            settings["udp associations"] = List(o.Associations);
            settings["udp rates"] = List(o.UdpRates);
            settings["udp step"] = o.UdpStepDuration.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s";
            settings["udp payload"] = o.UdpPayloadSize.ToString(CultureInfo.InvariantCulture) + " B";
            settings["udp loss threshold"] = (o.LossThreshold * 100).ToString(CultureInfo.InvariantCulture) + " %";
            settings["udp pacer threads"] = o.UdpSenders.ToString(CultureInfo.InvariantCulture);
            settings["udp generator sockets"] = o.UdpSockets.ToString(CultureInfo.InvariantCulture);
        }

        if (o.Modes.Contains(LoadMode.Idle))
        {
            settings["idle sessions"] = o.Sessions.ToString(CultureInfo.InvariantCulture);
            settings["idle target"] = o.IdleTarget.ToString();
            settings["idle settle"] = o.IdleSettle.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s";
        }

        return settings;
    }
}
