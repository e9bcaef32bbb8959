namespace KestrelSocks.Limits;

/// <summary>
/// One UDP association counted against its user's limit. Whoever learns first that the association is gone (it
/// closed, or it never opened) releases it; releasing again does nothing, so the count cannot drift.
/// </summary>
internal sealed class UdpAssociationSlot
{
    private int _released;

    public UdpAssociationSlot(UserAllowance allowance)
    {
        Allowance = allowance;
    }

    public UserAllowance Allowance { get; }

    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Allowance.CloseUdpAssociation();
        }
    }
}
