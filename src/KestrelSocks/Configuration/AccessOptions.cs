namespace KestrelSocks.Configuration;

/// <summary>The destination rule set. A request it refuses is answered with REP 02 (not allowed by ruleset).</summary>
internal sealed class AccessOptions
{
    /// <summary>CIDR networks (such as <c>10.0.0.0/8</c> or <c>fd00::/8</c>) a client may reach; empty allows all.</summary>
    public string[] AllowedDestinations { get; set; } = [];

    /// <summary>CIDR networks no client may reach; checked after <see cref="AllowedDestinations"/>.</summary>
    public string[] DeniedDestinations { get; set; } = [];
}
