namespace KestrelSocks.Diagnostics;

/// <summary>
/// Lets one log line through per interval and counts the rest, so a flood of refusals (every one of them an
/// attacker's choice) costs a line a second, not a line per connection. The line that gets through reports how many
/// were suppressed before it. Lock-free: refusals arrive on many threads at once.
/// </summary>
internal sealed class LogRateLimiter
{
    private readonly TimeProvider _timeProvider;
    private readonly long _intervalTicks;
    private long _nextAllowed;
    private long _suppressed;

    public LogRateLimiter(TimeProvider timeProvider, TimeSpan interval)
    {
        _timeProvider = timeProvider;
        _intervalTicks = (long)(interval.TotalSeconds * timeProvider.TimestampFrequency);
        _nextAllowed = long.MinValue;
    }

    /// <summary>True when this event may be logged; <paramref name="suppressed"/> is how many were not since the last one that was.</summary>
    public bool TryAcquire(out long suppressed)
    {
        var now = _timeProvider.GetTimestamp();
        var next = Volatile.Read(ref _nextAllowed);
        if (now >= next && Interlocked.CompareExchange(ref _nextAllowed, now + _intervalTicks, next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
