namespace KestrelSocks.Configuration;

/// <summary>Timeouts and caps that keep every long-running path bounded.</summary>
internal sealed class LimitsOptions
{
    /// <summary>Greeting, authentication and request must all arrive within this time.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Name resolution plus every connection attempt of one CONNECT.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A tunnel with no bytes in either direction for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Sessions open at once; connections past it are closed at accept and counted.</summary>
    public int MaxConcurrentSessions { get; set; } = 10_000;

    /// <summary>
    /// Connections still in their handshake (greeting, authentication, request) at once. Smaller than the session
    /// limit, so connections that send a byte and wait cannot take the places of clients that finish.
    /// </summary>
    public int MaxHandshakes { get; set; } = 1_024;

    /// <summary>Handshakes in progress from one client address (an IPv6 client counts by its /64).</summary>
    public int MaxHandshakesPerClient { get; set; } = 32;

    /// <summary>Sessions open at once from one client address (an IPv6 client counts by its /64).</summary>
    public int MaxSessionsPerClient { get; set; } = 1_024;

    /// <summary>New sessions per second one client address may open, on average; 0 turns the rate limit off.</summary>
    public int NewSessionsPerClientPerSecond { get; set; } = 256;

    /// <summary>New sessions one client address may open at once before <see cref="NewSessionsPerClientPerSecond"/> applies; 0 means twice the rate.</summary>
    public int NewSessionsPerClientBurst { get; set; }

    /// <summary>
    /// Descriptors sessions and their sockets may hold at once. 0 derives it from the process limit (RLIMIT_NOFILE,
    /// raised to its hard limit at start) less what is open at start and <see cref="ReservedDescriptors"/>.
    /// </summary>
    public int MaxDescriptors { get; set; }

    /// <summary>Descriptors kept back for the admin endpoint, logs, DNS and the runtime; -1 means a twentieth of the limit (128 to 4,096).</summary>
    public int ReservedDescriptors { get; set; } = -1;

    /// <summary>
    /// At shutdown, how long the SOCKS listeners keep accepting after readiness has turned false, so that a load balancer
    /// sees the failed probe and stops sending clients before connections are refused. Zero closes them at once.
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;

    /// <summary>At shutdown, how long established tunnels and UDP associations may finish, from the close of the listeners, before they are aborted.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Limits per authenticated user: <c>Limits:PerUser:*</c>.</summary>
    public UserLimitsOptions PerUser { get; set; } = new();
}
