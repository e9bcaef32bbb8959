namespace KestrelSocks.Relay;

/// <summary>How a tunnel ended.</summary>
internal enum TunnelEnd
{
    /// <summary>Both directions reached end of stream and were passed on.</summary>
    Completed,
    IdleTimeout,
    ClientFailed,
    UpstreamFailed,
}
