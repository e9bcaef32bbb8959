namespace KestrelSocks.Limits;

/// <summary>
/// A token bucket of bytes, shared by every relay path of one user in one direction and taken from by many threads
/// without a lock. The whole state is one long: how far takers have got along the rate's own clock, counted in bytes.
/// The rate's clock, (now - start) × rate, says how many bytes the rate has allowed so far; the tokens are the
/// difference, at most <see cref="Capacity"/> (a position further behind is read as the clock minus the capacity).
/// A take moves the position forward with one compare-and-swap, so refill needs no timer and no second field, and
/// takers together never get more than the capacity plus what the rate allowed since the start.
/// </summary>
internal sealed class TokenBucket
{
    // The smallest move a waiting tunnel settles for, in bytes: up to 20 ms of the rate, at most 16 KiB (a quarter of
    // a relay chunk, so a wait is a few milliseconds at bulk rates) and at least 512 bytes (few tiny moves at low rates).
    private const long MaxQuantum = 16 * 1024;
    private const long MinQuantum = 512;

    private readonly TimeProvider _timeProvider;
    private readonly long _start;
    private readonly double _bytesPerTick;
    private readonly int _quantum;

    // Bytes taken, on the rate's clock. Starts one capacity behind: the bucket starts full.
    private long _position;

    public TokenBucket(long bytesPerSecond, long capacity, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        BytesPerSecond = bytesPerSecond;
        Capacity = capacity;
        _timeProvider = timeProvider;
        _start = timeProvider.GetTimestamp();
        _bytesPerTick = (double)bytesPerSecond / timeProvider.TimestampFrequency;
        _quantum = (int)Math.Min(capacity, Math.Clamp(bytesPerSecond / 50, MinQuantum, MaxQuantum));
        _position = -capacity;
    }

    public long BytesPerSecond { get; }

    /// <summary>The most tokens the bucket holds: the largest burst.</summary>
    public long Capacity { get; }

    /// <summary>Tokens in the bucket now.</summary>
    public long Available
    {
        get
        {
            var allowed = Allowed();
            return allowed - Math.Max(Volatile.Read(ref _position), allowed - Capacity);
        }
    }

    /// <summary>
    /// Takes up to <paramref name="wanted"/> tokens if at least <paramref name="minimum"/> are there: the count taken,
    /// or 0 (nothing taken) when there are fewer.
    /// </summary>
    public int TryTake(int wanted, int minimum)
    {
        var allowed = Allowed();
        var floor = allowed - Capacity;
        while (true)
        {
            var position = Volatile.Read(ref _position);
            var from = Math.Max(position, floor);
            var available = allowed - from;
            if (available < minimum || available <= 0)
            {
                return 0;
            }

            var taken = (int)Math.Min(wanted, available);
            if (Interlocked.CompareExchange(ref _position, from + taken, position) == position)
            {
                return taken;
            }
        }
    }

    /// <summary>Takes exactly <paramref name="count"/> tokens, or none: a datagram passes whole or not at all.</summary>
    public bool TryTake(int count) => TryTake(count, count) == count;

    /// <summary>Gives back tokens taken and not used (a move that found fewer bytes than it was granted).</summary>
    public void Return(int count)
    {
        if (count > 0)
        {
            Interlocked.Add(ref _position, -count);
        }
    }

    /// <summary>
    /// Takes between 1 and <paramref name="wanted"/> tokens, waiting (on the time provider, holding no thread) until
    /// a useful amount is there: the bucket's quantum, or <paramref name="wanted"/> if smaller. Each wait lasts about
    /// as long as the rate needs for that amount, at most half a second at the lowest accepted rate, so a caller
    /// whose tunnel ended meanwhile learns it soon after, and <paramref name="cancellationToken"/> ends a wait at once.
    /// </summary>
    public async ValueTask<int> TakeAsync(int wanted, CancellationToken cancellationToken)
    {
        var minimum = Math.Min(wanted, _quantum);
        while (true)
        {
            var taken = TryTake(wanted, minimum);
            if (taken > 0)
            {
                return taken;
            }

            await Task.Delay(TimeUntil(minimum), _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>How long until <paramref name="count"/> tokens are there (zero if they are), if nobody else takes any.</summary>
    public TimeSpan TimeUntil(long count)
    {
        var missing = count - Available;
        if (missing <= 0)
        {
            return TimeSpan.Zero;
        }

        // Rounded up to whole milliseconds, so a wait never ends a hair before the tokens are there.
        return TimeSpan.FromMilliseconds(Math.Ceiling(missing * 1000.0 / BytesPerSecond));
    }

    /// <summary>Bytes the rate has allowed since the bucket was made.</summary>
    private long Allowed() => (long)((_timeProvider.GetTimestamp() - _start) * _bytesPerTick);
}
