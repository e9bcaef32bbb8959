using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KestrelSocks.Tests.Infrastructure;

/// <summary>Rule sets and policies built from options exactly as the host builds them.</summary>
internal static class TestAccess
{
    public static RuleSet Rules(AccessOptions options, SelfEndPoints? self = null)
    {
        var errors = new List<string>();
        return RuleSet.Create(options, self ?? SelfEndPoints.None, errors) ?? throw new InvalidOperationException(string.Join(" ", errors));
    }

    public static RuleSet Rules(params AccessRuleOptions[] rules)
    {
        var options = new AccessOptions();
        options.Rules.AddRange(rules);
        return Rules(options);
    }

    public static AccessPolicy Policy(AccessOptions options, SocksMetrics? metrics = null, ILogger? logger = null) =>
        new(Rules(options), metrics ?? new SocksMetrics(new TestMeterFactory()), logger ?? NullLogger.Instance);

    /// <summary>For tests of the relay, not of the rules: nothing guarded, nothing refused.</summary>
    public static AccessPolicy Unguarded(SocksMetrics? metrics = null) => Policy(new AccessOptions { EgressGuard = false }, metrics);
}
