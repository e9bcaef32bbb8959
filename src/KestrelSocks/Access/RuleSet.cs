using System.Net;
using System.Runtime.CompilerServices;

namespace KestrelSocks.Access;

/// <summary>
/// One immutable snapshot of the access rules: the ordered rules (first match wins), the default action, the egress
/// guard and the proxy's own endpoints. A reload builds a new snapshot and swaps it in whole; whoever caches a
/// verdict keeps the snapshot it came from and starts over when the current one is another.
/// <para>
/// Two phases, so that nothing about a name is resolved for a request the rules refuse anyway, and so that a rule on
/// addresses holds for every address actually tried, whatever the name resolved to (no DNS-rebinding way round):
/// <see cref="EvaluateRequest"/> before resolution, refusing only when every possible address would be refused;
/// <see cref="EvaluateAddress"/> on each resolved address (and each datagram destination), which decides.
/// </para>
/// Reserved rule names: <see cref="DefaultRule"/> (no rule matched), <see cref="GuardRule"/> and <see cref="SelfRule"/>.
/// </summary>
internal sealed partial class RuleSet
{
    public const string DefaultRule = "default";
    public const string GuardRule = "egress-guard";
    public const string SelfRule = "self";
    public const string DeniedDestinationsRule = "denied-destinations";
    public const string AllowedDestinationsRule = "allowed-destinations";

    private readonly AccessRule[] _rules;
    private readonly bool _defaultAllow;

    public RuleSet(AccessRule[] rules, bool defaultAllow, bool egressGuard, SelfEndPoints self)
    {
        _rules = rules;
        _defaultAllow = defaultAllow;
        GuardEnabled = egressGuard;
        Self = self;
        DependsOnDomain = Array.Exists(rules, r => r.HasDomainCondition);
    }

    public int Count => _rules.Length;

    public bool DefaultAllow => _defaultAllow;

    public bool GuardEnabled { get; }

    public SelfEndPoints Self { get; }

    /// <summary>Some rule names domains: a datagram's verdict then depends on the name it was sent to, not only the address.</summary>
    public bool DependsOnDomain { get; }

    /// <summary>The same rules with the proxy's endpoints as bound (port 0 resolved).</summary>
    public RuleSet WithSelf(SelfEndPoints self) => new(_rules, _defaultAllow, GuardEnabled, self);

    /// <summary>
    /// Before any address is known. Denied only when the rules refuse every address the request could lead to: the
    /// first rule that matches without looking at an address is a Deny, and no Allow before it waits on one. Allowed
    /// means "go on and resolve", not yet "connect".
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public AccessVerdict EvaluateRequest(in AccessRequest request)
    {
        var allowMayMatch = false;
        foreach (var rule in _rules)
        {
            switch (rule.MatchRequest(request))
            {
                case AccessRule.Match.Yes:
                    return rule.Allow || allowMayMatch ? AccessVerdict.Allow(rule.Name) : AccessVerdict.Deny(rule.Name);
                case AccessRule.Match.Unknown:
                    allowMayMatch |= rule.Allow;
                    break;
            }
        }

        return _defaultAllow || allowMayMatch ? AccessVerdict.Allow(DefaultRule) : AccessVerdict.Deny(DefaultRule);
    }

    public AccessVerdict EvaluateAddress(in AccessRequest request, IPAddress address) => EvaluateAddress(request, AddressKey.From(address));

    /// <summary>
    /// One destination address (an <see cref="AddressKey"/>) of a request whose destination is known: the proxy's own
    /// endpoints are refused whatever the rules say; then the first matching rule decides; a guarded address is
    /// refused unless that rule is an Allow naming a network inside the guarded block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public AccessVerdict EvaluateAddress(in AccessRequest request, UInt128 address)
    {
        if (Self.Contains(address, request.Port))
        {
            return AccessVerdict.Deny(SelfRule);
        }

        AccessRule? matched = null;
        foreach (var rule in _rules)
        {
            if (rule.Matches(request, address))
            {
                matched = rule;
                break;
            }
        }

        if (matched is null ? !_defaultAllow : !matched.Allow)
        {
            return AccessVerdict.Deny(matched?.Name ?? DefaultRule);
        }

        if (GuardEnabled && EgressGuard.IsGuarded(address, out var guardedPrefix)
            && (matched is null || !matched.Opens(address, guardedPrefix)))
        {
            return AccessVerdict.Deny(GuardRule);
        }

        return AccessVerdict.Allow(matched?.Name ?? DefaultRule);
    }
}
