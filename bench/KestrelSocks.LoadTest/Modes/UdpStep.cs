namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// One rung of the ladder: which sequence numbers each association has seen, so loss is counted exactly and
/// duplicates are told apart. Each association's bits are written only by that association's receive loop.
/// </summary>
internal sealed class UdpStep
{
    private readonly ulong[][] _seen;
    private readonly long[] _unique;

    public UdpStep(int id, int associations, long capacityPerAssociation)
    {
        Id = id;
        Capacity = capacityPerAssociation;
        _seen = new ulong[associations][];
        _unique = new long[associations];
        var words = (int)((capacityPerAssociation + 63) / 64);
        for (var i = 0; i < associations; i++)
        {
            _seen[i] = new ulong[words];
        }
    }

    public int Id { get; }

    public long Capacity { get; }

    /// <summary>Marks <paramref name="sequence"/> as received; false when it was seen before or is out of range.</summary>
    public bool TryMark(int association, long sequence)
    {
        if ((ulong)sequence >= (ulong)Capacity)
        {
            return false;
        }

        ref var word = ref _seen[association][sequence >> 6];
        var bit = 1UL << (int)(sequence & 63);
        if ((word & bit) != 0)
        {
            return false;
        }

        word |= bit;
        Volatile.Write(ref _unique[association], _unique[association] + 1);
        return true;
    }

    public long UniqueReceived()
    {
        long total = 0;
        for (var i = 0; i < _unique.Length; i++)
        {
            total += Volatile.Read(ref _unique[i]);
        }

        return total;
    }
}
