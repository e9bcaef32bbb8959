namespace KestrelSocks.Configuration;

/// <summary>
/// Limits per authenticated user (RFC 1929), shared by all of that user's connections. Anonymous sessions are not a
/// user and are never counted here. Zero means unlimited, the default for each, so a server without these settings
/// tracks nothing per user.
/// </summary>
internal sealed class UserLimitsOptions
{
    /// <summary>The smallest burst: room for the largest UDP datagram and a whole relay chunk.</summary>
    public const long MinimumBurst = 64 * 1024;

    /// <summary>The smallest non-zero rate: below it a throttled tunnel would wait longer than half a second for its smallest move.</summary>
    public const long MinimumBandwidth = 1024;

    /// <summary>The largest rate (10 GB/s, 80 Gbit/s): far past one proxy, and its byte count cannot overflow in decades.</summary>
    public const long MaximumBandwidth = 10_000_000_000;

    /// <summary>Sessions (requests being served) one user may have open at once; past it a request gets REP 02.</summary>
    public int MaxSessions { get; set; }

    /// <summary>UDP associations one user may hold at once, over all their control connections; past it REP 02.</summary>
    public int MaxUdpAssociations { get; set; }

    /// <summary>Bytes per second one user may relay in each direction, over all their tunnels and UDP associations.</summary>
    public long Bandwidth { get; set; }

    /// <summary>
    /// Bytes a user may relay at once after a quiet spell, in each direction. Zero takes a tenth of a second of
    /// <see cref="Bandwidth"/>, and never less than <see cref="MinimumBurst"/>, so every datagram can pass.
    /// </summary>
    public long BandwidthBurst { get; set; }

    /// <summary>Some per-user limit is set, so authenticated sessions are counted.</summary>
    public bool Enabled => MaxSessions > 0 || MaxUdpAssociations > 0 || Bandwidth > 0;

    /// <summary><see cref="BandwidthBurst"/> with its default applied.</summary>
    public long EffectiveBurst => BandwidthBurst > 0 ? BandwidthBurst : Math.Max(Bandwidth / 10, MinimumBurst);
}
