using System.Buffers;
using KestrelSocks.Protocol;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// The reassembly queue and timer of one association (RFC 1928 section 7). FRAG 1–127 is a fragment's position;
/// the high-order bit marks the last one. A sequence completes when its last fragment and every position before it
/// are in, in any arrival order; its destination is the first fragment's.
/// <para>
/// RFC 1928 restarts the queue when a FRAG lower than the last one processed arrives. Taken literally that turns
/// any reordering on the path into a loss, so the restart here triggers on what proves a new sequence began: a
/// position that is already queued, or a position past a last fragment already seen. The timer abandons a
/// sequence that is not complete in time, and memory is bounded by the largest datagram relayed.
/// </para>
/// Not thread-safe on its own: the association serialises access.
/// </summary>
internal sealed class FragmentReassembler : IDisposable
{
    private const int MaxPosition = 127;

    private readonly int _maxSize;
    private readonly (int Offset, int Length)[] _slots = new (int, int)[MaxPosition + 1];
    private byte[]? _data;
    private int _used;
    private UInt128 _present;
    private int _lastPosition;
    private int _fragmentCount;
    private Socks5Address _destination;
    private long _startedAt;

    public FragmentReassembler(int maxSize)
    {
        _maxSize = maxSize;
    }

    public bool IsActive => _data is not null;

    public long StartedAt => _startedAt;

    /// <summary>
    /// Adds one fragment. On <see cref="FragmentResult.Complete"/> the whole payload has been written to
    /// <paramref name="assembled"/> (room for the largest datagram) and its destination to <paramref name="destination"/>.
    /// <paramref name="abandoned"/> counts fragments already queued and thrown away: by a restart, or with a sequence
    /// that grew past the size bound. The fragment passed in is never among them; <see cref="FragmentResult.Dropped"/>
    /// reports it.
    /// </summary>
    public FragmentResult Add(byte fragment, in Socks5Address fragmentDestination, ReadOnlySpan<byte> data, long now,
        Span<byte> assembled, out int assembledLength, out Socks5Address destination, out int abandoned)
    {
        assembledLength = 0;
        destination = default;
        abandoned = 0;
        var position = fragment & 0x7F;
        var last = (fragment & Socks5UdpHeader.EndOfFragmentsFlag) != 0;
        if (position == 0)
        {
            // 0x80: "last fragment" at position 0 names no position at all.
            return FragmentResult.Dropped;
        }

        if (_data is not null && (IsPresent(position) || (_lastPosition != 0 && position > _lastPosition) || (last && position < HighestPresent())))
        {
            abandoned = Reset();
        }

        if (_data is null)
        {
            _data = ArrayPool<byte>.Shared.Rent(_maxSize);
            _startedAt = now;
        }

        if (_used + data.Length > _maxSize)
        {
            abandoned += Reset();
            return FragmentResult.Dropped;
        }

        data.CopyTo(_data.AsSpan(_used));
        _slots[position] = (_used, data.Length);
        _used += data.Length;
        _present |= UInt128.One << position;
        _fragmentCount++;
        if (position == 1)
        {
            _destination = fragmentDestination;
        }

        if (last)
        {
            _lastPosition = position;
        }

        if (_lastPosition == 0 || !AllPresentUpTo(_lastPosition))
        {
            return FragmentResult.Pending;
        }

        var offset = 0;
        for (var p = 1; p <= _lastPosition; p++)
        {
            var (start, length) = _slots[p];
            _data.AsSpan(start, length).CopyTo(assembled[offset..]);
            offset += length;
        }

        assembledLength = offset;
        destination = _destination;
        Reset();
        return FragmentResult.Complete;
    }

    /// <summary>Abandons the queue; returns how many fragments it held.</summary>
    public int Reset()
    {
        var dropped = _fragmentCount;
        if (_data is not null)
        {
            ArrayPool<byte>.Shared.Return(_data);
            _data = null;
        }

        _used = 0;
        _present = UInt128.Zero;
        _lastPosition = 0;
        _fragmentCount = 0;
        _destination = default;
        return dropped;
    }

    public void Dispose() => Reset();

    private bool IsPresent(int position) => (_present & (UInt128.One << position)) != UInt128.Zero;

    private int HighestPresent() => _present == UInt128.Zero ? 0 : 127 - (int)UInt128.LeadingZeroCount(_present);

    private bool AllPresentUpTo(int position)
    {
        // Bits 1..position all set (a shift by 128 would wrap, hence the right shift of all ones).
        var mask = (UInt128.MaxValue >> (127 - position)) ^ UInt128.One;
        return (_present & mask) == mask;
    }
}
