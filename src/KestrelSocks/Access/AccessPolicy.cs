using System.Net;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace KestrelSocks.Access;

/// <summary>
/// The rule set in force (<see cref="Rules"/>, swapped whole on reload) and the one place denials are counted and
/// logged. Reloads follow the configuration: the <c>KestrelSocks:Access</c> section is bound afresh and compiled;
/// a rule set with errors is not applied, and a Warning names the settings while the previous rules stay in force.
/// Sessions and associations are never dropped by a reload: new requests and new datagrams see the new rules.
/// </summary>
internal sealed class AccessPolicy : IDisposable
{
    private readonly SocksMetrics _metrics;
    private readonly ILogger _logger;
    private readonly IDisposable? _reloadRegistration;
    private readonly Lock _reloadLock = new();
    private RuleSet _rules;
    private string? _fingerprint;

    public AccessPolicy(IOptions<KestrelSocksOptions> options, IConfiguration configuration, SocksMetrics metrics, ILogger<AccessPolicy> logger)
    {
        _metrics = metrics;
        _logger = logger;

        // Validated at start already (KestrelSocksOptionsValidator), so this cannot fail. Until Kestrel has bound, the
        // endpoints are known as configured; port 0 is filled in once the host has started (SetSelfEndPoints).
        var value = options.Value;
        var configured = value.EffectiveListen.Concat(value.Admin.Enabled ? value.Admin.EffectiveListen : [])
            .Select(l => EndPointParser.TryParse(l, out var endPoint) ? endPoint : null)
            .OfType<IPEndPoint>();
        _rules = RuleSet.Create(value.Access, SelfEndPoints.Create(configured), []) ?? throw new OptionsValidationException(
            KestrelSocksOptions.SectionName, typeof(KestrelSocksOptions), ["KestrelSocks:Access is invalid."]);

        // Not IOptionsMonitor<KestrelSocksOptions>: it validates the whole section on a change and throws from the
        // change callback when anything is invalid. A bad edit here must cost a Warning, never the process.
        var section = configuration.GetSection($"{KestrelSocksOptions.SectionName}:Access");
        _fingerprint = Fingerprint(section);
        _reloadRegistration = ChangeToken.OnChange(configuration.GetReloadToken, () => Reload(section));
    }

    /// <summary>For tests and benchmarks: a fixed rule set, no reloads.</summary>
    internal AccessPolicy(RuleSet rules, SocksMetrics metrics, ILogger logger)
    {
        _rules = rules;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>The snapshot in force; read it once per decision.</summary>
    public RuleSet Rules => Volatile.Read(ref _rules);

    /// <summary>Compiles <paramref name="options"/> and swaps it in; false (and a Warning) when it has errors.</summary>
    public bool TryReload(AccessOptions options)
    {
        var errors = new List<string>();
        lock (_reloadLock)
        {
            var current = Rules;
            if (RuleSet.Create(options, current.Self, errors) is not { } rules)
            {
                AccessLog.ReloadFailed(_logger, string.Join(" ", errors));
                return false;
            }

            Volatile.Write(ref _rules, rules);
            AccessLog.Reloaded(_logger, rules.Count, rules.DefaultAllow ? "Allow" : "Deny", rules.GuardEnabled);
            return true;
        }
    }

    /// <summary>Counts a refused request and logs it at Debug, with the rule that refused it.</summary>
    public void RequestDenied(in AccessVerdict verdict, AccessCommand command, AccessPhase phase, string connectionId, EndPoint? client,
        string user, in Socks5Address destination)
    {
        _metrics.AccessDenied(verdict.Rule, command, phase);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            AccessLog.RequestDenied(_logger, connectionId, client, LogText.Escape(user), MetricNames.GetAccessCommandName(command),
                command == AccessCommand.Connect ? LogText.Escape(destination.ToString()) : "-", verdict.Rule, MetricNames.GetAccessPhaseName(phase));
        }
    }

    /// <summary>Counts a refused datagram; on the datagram path, so nothing else.</summary>
    public void DatagramDenied(string rule) => _metrics.AccessDenied(rule, AccessCommand.Udp, AccessPhase.Datagram);

    /// <summary>A UDP destination refused for the first time in its association (not per datagram: the verdict is cached).</summary>
    public void DestinationDenied(long associationId, IPAddress destination, int port, string rule)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            AccessLog.DatagramDestinationDenied(_logger, associationId, destination.ToString(), port, rule);
        }
    }

    /// <summary>The listeners as bound, once the host has started: they join the destinations no rule opens.</summary>
    public void SetSelfEndPoints(IEnumerable<IPEndPoint> endPoints)
    {
        var self = SelfEndPoints.Create(endPoints);
        lock (_reloadLock)
        {
            Volatile.Write(ref _rules, Rules.WithSelf(self));
        }
    }

    public void Dispose() => _reloadRegistration?.Dispose();

    private static string Fingerprint(IConfigurationSection section) =>
        string.Join("\n", section.AsEnumerable().OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase).Select(p => $"{p.Key}={p.Value}"));

    private void Reload(IConfigurationSection section)
    {
        // Every change to any configuration source fires this; only a change to this section rebuilds the rules (and
        // empties the UDP associations' caches).
        var fingerprint = Fingerprint(section);
        if (fingerprint == Volatile.Read(ref _fingerprint))
        {
            return;
        }

        Volatile.Write(ref _fingerprint, fingerprint);

        // The start checks every key; a reload must too, or a misspelt or unindexed rule would silently not apply.
        if (ConfigurationKeys.Check(section, typeof(AccessOptions)) is { Count: > 0 } keyErrors)
        {
            AccessLog.ReloadFailed(_logger, string.Join(" ", keyErrors));
            return;
        }

        var options = new AccessOptions();
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // A value of the wrong type (EgressGuard=maybe): the binder names the key.
            AccessLog.ReloadFailed(_logger, e.Message);
            return;
        }

        TryReload(options);
    }
}
