namespace KestrelSocks.Configuration;

/// <summary>UDP ASSOCIATE and the relay behind it.</summary>
internal sealed class UdpOptions
{
    /// <summary>Off answers UDP ASSOCIATE with REP 07 (command not supported).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Whether each association has a port of its own or all share <see cref="SharedPort"/>. Per-association ports
    /// are the default: they need nothing published beyond a range, spread over every relay loop from the first
    /// datagram, and a client that does not declare its port is told apart by the port it was given. Shared is for
    /// a container or a balancer, where publishing a port per association cannot scale.
    /// </summary>
    public UdpMode Mode { get; set; } = UdpMode.PerAssociation;

    /// <summary>
    /// The one UDP port every association's client sends to in <see cref="UdpMode.Shared"/> mode; 0 takes a free
    /// port at start (logged, and announced in every reply), for a proxy that nothing has to be published for.
    /// </summary>
    public int SharedPort { get; set; }

    /// <summary>The local IP address relay sockets bind; empty means the address the client reached the proxy on.</summary>
    public string ListenAddress { get; set; } = "";

    /// <summary>The address announced in BND.ADDR, for a proxy behind NAT or a load balancer. Empty announces the relay socket's own.</summary>
    public string AdvertisedAddress { get; set; } = "";

    /// <summary>First port of the range relay sockets take (so a container can publish exactly it); 0–0 means any ephemeral port.</summary>
    public int PortRangeStart { get; set; }

    public int PortRangeEnd { get; set; }

    /// <summary>An association with no datagram in either direction for this long ends.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>UDP ASSOCIATE requests one control connection may hold at once (the multi-association extension).</summary>
    public int MaxAssociationsPerConnection { get; set; } = 256;

    /// <summary>UDP associations one client address may hold at once over all its control connections (an IPv6 client counts by its /64).</summary>
    public int MaxAssociationsPerClient { get; set; } = 1_024;

    /// <summary>UDP associations open at once on the whole server; 0 leaves only the descriptor budget to bound them.</summary>
    public int MaxAssociations { get; set; }

    /// <summary>Largest payload relayed in either direction; larger datagrams are dropped and counted, never truncated.</summary>
    public int MaxDatagramSize { get; set; } = 65_507;

    /// <summary>Reassemble fragmented datagrams (FRAG != 0); off drops them and counts each.</summary>
    public bool Fragmentation { get; set; } = true;

    /// <summary>RFC 1928's reassembly timer: a sequence not complete within it is abandoned. The RFC asks for at least 5 seconds.</summary>
    public TimeSpan ReassemblyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>SO_RCVBUF of relay sockets: room for bursts while the relay catches up. The kernel may cap it.</summary>
    public int SocketReceiveBufferSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>SO_SNDBUF of relay sockets.</summary>
    public int SocketSendBufferSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// SO_RCVBUF of each shared-port socket (<c>Mode=Shared</c>; one per relay loop, so it queues the datagrams of all
    /// the loop's clients, where a per-association socket queues one client's). Asked for with SO_RCVBUFFORCE where
    /// the process may (CAP_NET_ADMIN), else capped by <c>net.core.rmem_max</c>; a smaller grant is logged.
    /// </summary>
    public int SharedSocketReceiveBufferSize { get; set; } = 32 * 1024 * 1024;

    /// <summary>
    /// Relay to the client only datagrams from a destination (address and port) it has sent to, as a port-restricted
    /// NAT does; others are dropped and counted as unsolicited. Off relays from anyone who learns the relay's port.
    /// </summary>
    public bool RepliesOnlyFromContacted { get; set; } = true;

    /// <summary>
    /// A datagram that waited in its socket's queue longer than this before the relay reached it is dropped (counted as
    /// queue_delay) instead of relayed late, so an overloaded relay sheds stale datagrams and catches up. The default is
    /// past what voice and game traffic can still use and far past a scheduling hiccup, so only a backlog that would
    /// otherwise keep growing is shed; buffered video is not cut. Zero turns it off. Linux engine only: the kernel
    /// stamps each datagram's arrival once a relay loop has fallen behind.
    /// </summary>
    public TimeSpan MaxQueueDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How sockets are waited on and drained: relay loops with batched system calls on Linux, or the portable engine.</summary>
    public UdpEngineMode Engine { get; set; } = UdpEngineMode.Auto;

    /// <summary>Relay loops of the Linux engine; 0 means one per processor.</summary>
    public int EventLoopThreads { get; set; }

    /// <summary>Upper bound on how long a resolved domain destination is reused.</summary>
    public TimeSpan DnsCacheTtl { get; set; } = TimeSpan.FromSeconds(30);
}
