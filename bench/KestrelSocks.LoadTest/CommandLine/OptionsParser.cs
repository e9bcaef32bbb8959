using System.Globalization;
using System.Net;

namespace KestrelSocks.LoadTest.CommandLine;

/// <summary>Turns <c>&lt;mode&gt;[,&lt;mode&gt;...] [--option value]...</c> into <see cref="LoadTestOptions"/>.</summary>
internal static class OptionsParser
{
    public const string Usage = """
        Usage: KestrelSocks.LoadTest <mode>[,<mode>...]|all [options]
               KestrelSocks.LoadTest aggregate --in <dir> --out <dir> [--baseline dante] [--title text]

        Modes: tcp-bulk, tcp-rr, tcp-latency, tcp-fairness, udp, idle. Each runs on the direct path and through the proxy.

          --proxy host:port        SOCKS5 server under test (IP literal, loopback); omit to measure direct only
          --user, --password       RFC 1929 credentials
          --name text              the proxy's name in reports (default: proxy)
          --server-pid pid         the proxy's process: CPU and memory from /proc, summed over its process tree
          --targets both|direct|proxy   paths to measure (default: both)
          --duration s             measured seconds per case (default 3)
          --warmup s               unmeasured seconds before each case (default 0.5)
          --out dir                write report.md, report.json and an SVG per mode there
          --streams 1,8            tcp-bulk stream counts
          --chunk bytes            tcp-bulk bytes per send/receive (default 131072)
          --concurrency n          tcp-rr concurrent sessions (default 32)
          --message bytes          tcp-rr / tcp-latency exchange size (default 64)
          --associations 1,100,1000   udp association counts
          --rates 10000,25000,...  udp ladder, aggregate datagrams/s
          --udp-step s             seconds per ladder rung (default 2)
          --payload bytes          udp payload (default 1200)
          --loss-threshold f       a rung passes below this loss fraction (default 0.001)
          --full-ladder            climb every rung even after a failure
          --udp-senders n          udp pacing threads (default 2)
          --udp-sockets n          generator UDP sockets (and receive threads) the associations share (default 4)
          --sessions n             idle sessions (default 10000, capped to fit open-file limits)
          --idle-target auto|inproc|process   where the idle echo target runs (default auto)
          --idle-settle s          rest before memory is read (default 2)
          --seed n                 payload pattern seed
          --commit text, --note text   recorded in the report header
          --quiet                  no progress output
        """;

    public static LoadTestOptions Parse(IReadOnlyList<string> args, out bool quiet)
    {
        quiet = false;
        if (args.Count == 0)
        {
            throw new ArgumentException("No mode given.");
        }

        var options = new LoadTestOptions();
        foreach (var name in args[0].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (name == "all")
            {
                options.Modes.AddRange(LoadModeNames.All);
            }
            else if (LoadModeNames.TryParse(name, out var mode))
            {
                options.Modes.Add(mode);
            }
            else
            {
                throw new ArgumentException($"Unknown mode '{name}'.");
            }
        }

        var values = Pairs(args.Skip(1).ToList());
        foreach (var (key, value) in values)
        {
            switch (key)
            {
                case "proxy":
                    options.Proxy = IPEndPoint.Parse(Required(key, value));
                    break;
                case "user":
                    options.Username = Required(key, value);
                    break;
                case "password":
                    options.Password = Required(key, value);
                    break;
                case "name":
                    options.ProxyName = Required(key, value);
                    break;
                case "server-pid":
                    options.ServerPid = Int(key, value);
                    break;
                case "targets":
                    options.Targets = Required(key, value) switch
                    {
                        "both" => TargetSelection.Both,
                        "direct" => TargetSelection.Direct,
                        "proxy" => TargetSelection.Proxy,
                        _ => throw new ArgumentException("--targets is both, direct or proxy."),
                    };
                    break;
                case "duration":
                    options.Duration = Seconds(key, value);
                    break;
                case "warmup":
                    options.Warmup = Seconds(key, value);
                    break;
                case "out":
                    options.OutputDirectory = Required(key, value);
                    break;
                case "streams":
                    options.Streams = IntList(key, value);
                    break;
                case "chunk":
                    options.BulkChunkSize = Int(key, value);
                    break;
                case "concurrency":
                    options.Concurrency = Int(key, value);
                    break;
                case "message":
                    options.MessageSize = Int(key, value);
                    break;
                case "associations":
                    options.Associations = IntList(key, value);
                    break;
                case "rates":
                    options.UdpRates = IntList(key, value);
                    break;
                case "udp-step":
                    options.UdpStepDuration = Seconds(key, value);
                    break;
                case "payload":
                    options.UdpPayloadSize = Int(key, value);
                    break;
                case "loss-threshold":
                    options.LossThreshold = double.Parse(Required(key, value), CultureInfo.InvariantCulture);
                    break;
                case "full-ladder":
                    options.UdpFullLadder = true;
                    break;
                case "udp-senders":
                    options.UdpSenders = Int(key, value);
                    break;
                case "udp-sockets":
                    options.UdpSockets = Int(key, value);
                    break;
                case "sessions":
                    options.Sessions = Int(key, value);
                    break;
                case "idle-target":
                    options.IdleTarget = Required(key, value) switch
                    {
                        "auto" => IdleTargetPlacement.Auto,
                        "inproc" => IdleTargetPlacement.InProcess,
                        "process" => IdleTargetPlacement.ChildProcess,
                        _ => throw new ArgumentException("--idle-target is auto, inproc or process."),
                    };
                    break;
                case "idle-settle":
                    options.IdleSettle = Seconds(key, value);
                    break;
                case "seed":
                    options.Seed = Int(key, value);
                    break;
                case "commit":
                    options.Commit = Required(key, value);
                    break;
                case "note":
                    options.Note = Required(key, value);
                    break;
                case "quiet":
                    quiet = true;
                    break;
                default:
                    throw new ArgumentException($"Unknown option --{key}.");
            }
        }

        Validate(options);
        return options;
    }

    /// <summary>--key value and --key=value pairs; a flag has no value.</summary>
    public static List<(string Key, string? Value)> Pairs(List<string> args)
    {
        var pairs = new List<(string, string?)>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unexpected argument '{arg}'.");
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                pairs.Add((arg[2..equals], arg[(equals + 1)..]));
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                pairs.Add((arg[2..], args[++i]));
            }
            else
            {
                pairs.Add((arg[2..], null));
            }
        }

        return pairs;
    }

    private static void Validate(LoadTestOptions options)
    {
        if (options.Proxy is { } proxy && !IPAddress.IsLoopback(proxy.Address))
        {
            throw new ArgumentException("--proxy must be a loopback address (127.0.0.0/8 or ::1): this generator only loads this machine.");
        }

        if (options.Targets == TargetSelection.Proxy && options.Proxy is null)
        {
            throw new ArgumentException("--targets proxy needs --proxy.");
        }

        if (options.Duration <= TimeSpan.Zero || options.Duration > TimeSpan.FromMinutes(10) || options.UdpStepDuration <= TimeSpan.Zero || options.UdpStepDuration > TimeSpan.FromMinutes(2))
        {
            throw new ArgumentException("--duration is at most 600 s and --udp-step at most 120 s, both above zero.");
        }

        if (options.UdpPayloadSize < 64 || options.UdpPayloadSize > 65_000 || options.MessageSize < 1 || options.MessageSize > 65_536 || options.BulkChunkSize < 1024 || options.BulkChunkSize > PayloadSizeLimit)
        {
            throw new ArgumentException("--payload is 64..65000, --message 1..65536, --chunk 1024..1048576.");
        }

        if (options.Concurrency < 1 || options.Concurrency > 10_000 || options.Sessions < 1 || options.Streams.Any(s => s is < 1 or > 1024) || options.Associations.Any(a => a is < 1 or > 10_000) || options.UdpRates.Any(r => r is < 1 or > 2_000_000))
        {
            throw new ArgumentException("Counts and rates are out of range (concurrency ≤ 10000, streams ≤ 1024, associations ≤ 10000, rates ≤ 2,000,000/s).");
        }
    }

    private const int PayloadSizeLimit = 1024 * 1024;

    private static string Required(string key, string? value) => value ?? throw new ArgumentException($"--{key} needs a value.");

    private static int Int(string key, string? value) => int.Parse(Required(key, value), NumberStyles.Integer, CultureInfo.InvariantCulture);

    private static TimeSpan Seconds(string key, string? value) => TimeSpan.FromSeconds(double.Parse(Required(key, value), CultureInfo.InvariantCulture));

    private static List<int> IntList(string key, string? value) =>
        [.. Required(key, value).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture))];
}
