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

    /// <summary>At shutdown, how long established tunnels may finish before they are aborted.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Limits per authenticated user: <c>Limits:PerUser:*</c>.</summary>
    public UserLimitsOptions PerUser { get; set; } = new();
}
