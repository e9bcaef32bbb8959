namespace KestrelSocks.Configuration;

/// <summary>
/// SOCKS listeners behind a load balancer that sends the PROXY protocol (v1 or v2), so the proxy sees each client's
/// own address. See README, "Behind a load balancer".
/// </summary>
internal sealed class ProxyProtocolOptions
{
    /// <summary>
    /// SOCKS listeners on which every connection starts with a PROXY protocol header, in the form of <c>Listen</c>.
    /// They are listeners of their own, beside <c>Listen</c>: a listener either always reads a header or never does.
    /// </summary>
    public string[] Listen { get; set; } = [];

    /// <summary>The balancers allowed to send a header: CIDR networks or single addresses. Anyone else is closed at once.</summary>
    public string[] TrustedNetworks { get; set; } = [];

    /// <summary>How long a trusted connection may take to send its whole header.</summary>
    public TimeSpan HeaderTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
