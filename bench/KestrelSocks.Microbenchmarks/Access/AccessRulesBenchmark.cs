using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Relay.Udp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace KestrelSocks.Microbenchmarks.Access;

/// <summary>
/// The rule set's cost per request and per datagram destination, with the 20 rules of bench/access-rules-20.args
/// (CIDRs, domains, ports, users, groups; the loopback destination first matches rule 19) against the one rule a
/// loopback run needs under the default egress guard (the baseline). A CONNECT by name is both phases, before and after resolution;
/// a datagram is a hit in its association's cache, or (a rule naming domains, a datagram sent to a name) both phases
/// again. The target is 0 bytes allocated in every case.
/// </summary>
[MemoryDiagnoser]
public class AccessRulesBenchmark
{
    private const int Operations = 100;

    private static readonly byte[] _domain = Encoding.ASCII.GetBytes("echo.bench.example");
    private static readonly byte[] _loopback = [127, 0, 0, 1];
    private static readonly UInt128 _loopbackKey = AddressKey.From(IPAddress.Loopback);
    private static readonly IPAddress _client = IPAddress.Loopback;

    private ServiceProvider? _services;
    private RuleSet _none = null!;
    private RuleSet _twenty = null!;
    private DestinationTable _noneTable = null!;
    private DestinationTable _twentyTable = null!;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new SocksMetrics(_services.GetRequiredService<IMeterFactory>());
        _none = Create([]);
        _twenty = Create(File.ReadAllLines(FindRulesFile()));
        if (_twenty.Count != 20 || _none.Count != 1 || !Connect(_twenty) || !Connect(_none))
        {
            throw new InvalidOperationException("The rule sets must have 20 and 1 rules and allow the benchmark's destination.");
        }

        _noneTable = new DestinationTable(new AccessPolicy(_none, metrics, NullLogger.Instance), dualMode: true, _client);
        _twentyTable = new DestinationTable(new AccessPolicy(_twenty, metrics, NullLogger.Instance), dualMode: true, _client);
        _ = _noneTable.GetTarget(_loopback, 9, default, out _) ?? throw new InvalidOperationException("Refused.");
        _ = _twentyTable.GetTarget(_loopback, 9, default, out _) ?? throw new InvalidOperationException("Refused.");
    }

    [GlobalCleanup]
    public void Cleanup() => _services?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Connect")]
    public bool Connect_NoRules() => Loop(_none);

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Connect")]
    public bool Connect_20Rules() => Loop(_twenty);

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Datagram")]
    public bool Datagram_Cached_NoRules() => LoopDatagrams(_noneTable);

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Datagram")]
    public bool Datagram_Cached_20Rules() => LoopDatagrams(_twentyTable);

    /// <summary>A datagram sent to a name under rules that name domains: decided anew each time, both phases.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Datagram")]
    public bool Datagram_ByName_20Rules()
    {
        var allowed = true;
        for (var i = 0; i < Operations; i++)
        {
            allowed &= _twentyTable.AllowsName(_domain, 9, out _) && _twentyTable.GetTarget(_loopback, 9, _domain, out _) is not null;
        }

        return allowed;
    }

    /// <summary>What a datagram destination costs when its association has not seen it yet, without the socket address it then makes.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Datagram")]
    public bool Datagram_Evaluate_20Rules()
    {
        var allowed = true;
        for (var i = 0; i < Operations; i++)
        {
            var request = new AccessRequest(AccessCommand.Udp, _loopbackKey, null, [], AccessDestination.Known, default, 9);
            allowed &= _twenty.EvaluateAddress(request, _loopbackKey).IsAllowed;
        }

        return allowed;
    }

    private static bool Loop(RuleSet rules)
    {
        var allowed = true;
        for (var i = 0; i < Operations; i++)
        {
            allowed &= Connect(rules);
        }

        return allowed;
    }

    private static bool Connect(RuleSet rules)
    {
        var request = new AccessRequest(AccessCommand.Connect, _client, null, []).WithDestination(_domain, 9);
        return rules.EvaluateRequest(request).IsAllowed && rules.EvaluateAddress(request, _loopbackKey).IsAllowed;
    }

    private static bool LoopDatagrams(DestinationTable table)
    {
        var allowed = true;
        for (var i = 0; i < Operations; i++)
        {
            allowed &= table.GetTarget(_loopback, 9, default, out _) is not null;
        }

        return allowed;
    }

    private static RuleSet Create(string[] settings)
    {
        var options = new AccessOptions();
        new ConfigurationBuilder().AddCommandLine(settings).Build().GetSection("KestrelSocks:Access").Bind(options);
        if (settings.Length == 0)
        {
            // The default rule set, which refuses loopback: the baseline opens it with the one rule a loopback bench needs.
            options.Rules.Add(new AccessRuleOptions { Name = "bench-loopback", Action = "Allow", Destinations = ["127.0.0.0/8"] });
        }

        var errors = new List<string>();
        return RuleSet.Create(options, SelfEndPoints.None, errors) ?? throw new InvalidOperationException(string.Join(" ", errors));
    }

    private static string FindRulesFile()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "bench", "access-rules-20.args");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("bench/access-rules-20.args not found above " + AppContext.BaseDirectory);
    }
}
