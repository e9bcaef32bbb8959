namespace KestrelSocks.Configuration;

/// <summary>
/// The rule set: ordered named rules (first match wins), a default action, and the egress guard. A request it refuses
/// is answered with REP 02 (not allowed by ruleset); a datagram it refuses is dropped and counted. Reloaded from
/// configuration without dropping sessions.
/// </summary>
internal sealed class AccessOptions
{
    /// <summary>What happens to a request no rule matches: <c>Allow</c> or <c>Deny</c>.</summary>
    public string DefaultAction { get; set; } = "Allow";

    /// <summary>
    /// Refuse loopback, private, link-local, unique-local, CGNAT, multicast, reserved and unspecified destinations (and
    /// their IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms) unless an Allow rule names a network inside them.
    /// </summary>
    public bool EgressGuard { get; set; } = true;

    /// <summary>Evaluated in order; the first rule whose every condition matches decides.</summary>
    public List<AccessRuleOptions> Rules { get; set; } = [];

    /// <summary>
    /// Shorthand for a Deny rule named <c>allowed-destinations</c> ahead of <see cref="Rules"/> that refuses every
    /// destination outside these CIDR networks; empty refuses nothing. It only ever refuses: it opens nothing the
    /// egress guard refuses.
    /// </summary>
    public string[] AllowedDestinations { get; set; } = [];

    /// <summary>Shorthand for a Deny rule named <c>denied-destinations</c> with these CIDR networks, first of all rules.</summary>
    public string[] DeniedDestinations { get; set; } = [];
}
