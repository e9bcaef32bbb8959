using System.Net;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Tests.Access;

public sealed class AccessPolicyTests : IDisposable
{
    private const string Rule0 = "KestrelSocks:Access:Rules:0";

    private readonly TestMeterFactory _meterFactory = new();
    private readonly FakeLogger<AccessPolicy> _logger = new();

    [Fact]
    public void TryReload_SwapsTheSnapshot_AndKeepsTheSelfEndPoints()
    {
        var policy = TestAccess.Policy(new AccessOptions());
        policy.SetSelfEndPoints([new IPEndPoint(IPAddress.Loopback, 9464)]);
        var before = policy.Rules;

        Assert.True(policy.TryReload(new AccessOptions { DefaultAction = "Deny" }));

        Assert.NotSame(before, policy.Rules);
        Assert.False(policy.Rules.DefaultAllow);
        Assert.Same(before.Self, policy.Rules.Self);
        Assert.True(before.DefaultAllow);
    }

    [Fact]
    public void ConfigurationReload_AppliesEditedRules_AndKeepsThePreviousOnesWhenInvalid()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{Rule0}:Name"] = "first",
            [$"{Rule0}:Action"] = "Deny",
            [$"{Rule0}:Ports:0"] = "25",
        }).Build();
        var options = new KestrelSocksOptions();
        configuration.GetSection(KestrelSocksOptions.SectionName).Bind(options);
        using var policy = new AccessPolicy(Options.Create(options), configuration, new SocksMetrics(_meterFactory), _logger);
        Assert.Equal(AccessVerdict.Deny("first"), policy.Rules.EvaluateRequest(Connect(25)));

        configuration[$"{Rule0}:Ports:0"] = "587";
        configuration.Reload();

        Assert.Equal(AccessVerdict.Allow("default"), policy.Rules.EvaluateRequest(Connect(25)));
        Assert.Equal(AccessVerdict.Deny("first"), policy.Rules.EvaluateRequest(Connect(587)));
        Assert.Equal(LogLevel.Information, _logger.LatestRecord.Level);
        Assert.Equal(EventIds.AccessRulesReloaded, _logger.LatestRecord.Id.Id);
        var valid = policy.Rules;

        configuration[$"{Rule0}:Ports:0"] = "70000";
        configuration.Reload();

        Assert.Same(valid, policy.Rules);
        Assert.Equal(LogLevel.Warning, _logger.LatestRecord.Level);
        Assert.Equal(EventIds.AccessRulesReloadFailed, _logger.LatestRecord.Id.Id);
        Assert.Contains($"{Rule0}:Ports:0 '70000' is not a port or port range", _logger.LatestRecord.Message, StringComparison.Ordinal);

        configuration["KestrelSocks:Access:EgressGuard"] = "maybe";
        configuration[$"{Rule0}:Ports:0"] = "25";
        configuration.Reload();

        Assert.Same(valid, policy.Rules);
        Assert.Equal(LogLevel.Warning, _logger.LatestRecord.Level);
        Assert.Contains("EgressGuard", _logger.LatestRecord.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("KestrelSocks:Access:DeniedDestinations", "127.0.0.0/8", "KestrelSocks:Access:DeniedDestinations is a list")]
    [InlineData("KestrelSocks:Access:Rules:0:Prots:0", "25", "did you mean KestrelSocks:Access:Rules:0:Ports?")]
    public void ConfigurationReload_WithAMisspeltOrUnindexedKey_KeepsThePreviousRules(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{Rule0}:Name"] = "first",
            [$"{Rule0}:Action"] = "Deny",
            [$"{Rule0}:Ports:0"] = "25",
        }).Build();
        var options = new KestrelSocksOptions();
        configuration.GetSection(KestrelSocksOptions.SectionName).Bind(options);
        using var policy = new AccessPolicy(Options.Create(options), configuration, new SocksMetrics(_meterFactory), _logger);
        var before = policy.Rules;

        // Bound as it stands, the edit would apply a rule set without the denial the operator meant to add.
        configuration[key] = value;
        configuration.Reload();

        Assert.Same(before, policy.Rules);
        Assert.Equal(EventIds.AccessRulesReloadFailed, _logger.LatestRecord.Id.Id);
        Assert.Contains(expected, _logger.LatestRecord.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigurationReload_OfAnotherSection_LeavesTheSnapshotAlone()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection().Build();
        using var policy = new AccessPolicy(Options.Create(new KestrelSocksOptions()), configuration, new SocksMetrics(_meterFactory), _logger);
        var before = policy.Rules;

        configuration["KestrelSocks:Limits:IdleTimeout"] = "00:01:00";
        configuration.Reload();

        Assert.Same(before, policy.Rules);
        Assert.Empty(_logger.Collector.GetSnapshot());
    }

    [Fact]
    public void Denials_AreCountedByRuleCommandAndPhase_AndLoggedEscaped()
    {
        using var denied = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.access.denied");
        var policy = TestAccess.Policy(new AccessOptions(), new SocksMetrics(_meterFactory), _logger);

        policy.RequestDenied(AccessVerdict.Deny("egress-guard"), AccessCommand.Connect, AccessPhase.Address, "c1", new IPEndPoint(IPAddress.Loopback, 5),
            "bob", Socks5Address.FromDomainName("evil\nwarn: forged", 80));
        policy.DatagramDenied("lab");
        policy.DatagramDenied("lab");

        var measurements = denied.GetMeasurementSnapshot();
        Assert.Equal(3, measurements.Count);
        Assert.True(measurements[0].MatchesTags(
            new KeyValuePair<string, object?>("socks.access.rule", "egress-guard"),
            new KeyValuePair<string, object?>("socks.command", "connect"),
            new KeyValuePair<string, object?>("socks.access.phase", "address")));
        Assert.True(measurements[2].MatchesTags(
            new KeyValuePair<string, object?>("socks.access.rule", "lab"),
            new KeyValuePair<string, object?>("socks.command", "udp_associate"),
            new KeyValuePair<string, object?>("socks.access.phase", "datagram")));

        var record = _logger.LatestRecord;
        Assert.Equal(EventIds.AccessRequestDenied, record.Id.Id);
        Assert.Contains("denied by rule egress-guard", record.Message, StringComparison.Ordinal);
        Assert.Contains(@"evil\nwarn: forged:80", record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", record.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _meterFactory.Dispose();

    private static AccessRequest Connect(int port) =>
        new AccessRequest(AccessCommand.Connect, IPAddress.Parse("192.0.2.1"), null, []).WithDestination(default, port);
}
