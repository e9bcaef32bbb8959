namespace KestrelSocks.Configuration;

/// <summary>The BIND command: where the proxy listens for the one inbound connection a client asks for.</summary>
internal sealed class BindOptions
{
    /// <summary>
    /// Off answers BIND with REP 07 (command not supported). Unset means on when every SOCKS listener is a loopback
    /// address and off otherwise: BIND opens listening ports on the proxy for its clients.
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// The local IP address BIND listeners use. Empty means the address the client reached the proxy on,
    /// which is also the address its peers can most likely reach.
    /// </summary>
    public string ListenAddress { get; set; } = "";

    /// <summary>The address announced in BND.ADDR, for a proxy behind NAT or a load balancer. Empty announces the listener's own.</summary>
    public string AdvertisedAddress { get; set; } = "";

    /// <summary>First port of the range BIND listeners take (so a container can publish exactly it); 0 with <see cref="PortRangeEnd"/> 0 means any ephemeral port.</summary>
    public int PortRangeStart { get; set; }

    public int PortRangeEnd { get; set; }

    /// <summary>
    /// Accept any peer when DST.ADDR is all zeros. RFC 1928 lets a client name no peer, but then the first stranger to
    /// reach the port gets a tunnel to the client; off answers such requests with REP 02.
    /// </summary>
    public bool AllowAnyPeer { get; set; }

    /// <summary>How long the proxy waits for the inbound connection before the second reply says REP 06.</summary>
    public TimeSpan AcceptTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
