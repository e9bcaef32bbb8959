namespace KestrelSocks.Limits;

/// <summary>
/// One authenticated user's share of the per-user limits while they have a session open: the counts
/// <see cref="UserLimits"/> keeps for them and the byte buckets every one of their tunnels and associations draws on.
/// A session holds it from its request to its end.
/// </summary>
internal sealed class UserAllowance
{
    private readonly UserLimits _limits;

    // The table's bookkeeping, guarded by its lock.
    internal int Sessions;
    internal int UdpAssociations;
    internal UserLimits.RefusalLog SessionRefusals;
    internal UserLimits.RefusalLog UdpAssociationRefusals;

    internal UserAllowance(UserLimits limits, string user, TokenBucket? upstream, TokenBucket? downstream)
    {
        _limits = limits;
        User = user;
        Upstream = upstream;
        Downstream = downstream;
    }

    public string User { get; }

    /// <summary>Client to destination; null when bandwidth is unlimited.</summary>
    public TokenBucket? Upstream { get; }

    /// <summary>Destination to client; null when bandwidth is unlimited.</summary>
    public TokenBucket? Downstream { get; }

    /// <summary>Counts a UDP association against the user's limit: its slot, or null (counted as refused) when they are at it.</summary>
    public UdpAssociationSlot? TryOpenUdpAssociation() => _limits.TryOpenUdpAssociation(this) ? new UdpAssociationSlot(this) : null;

    /// <summary>Gives back one association; <see cref="UdpAssociationSlot.Release"/> calls it once.</summary>
    internal void CloseUdpAssociation() => _limits.CloseUdpAssociation(this);

    /// <summary>Gives back the session the allowance was opened for; the user's entry goes when nothing is left open.</summary>
    public void CloseSession() => _limits.CloseSession(this);
}
