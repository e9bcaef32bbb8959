namespace KestrelSocks.Diagnostics;

/// <summary>
/// Lets a few log lines through per interval and counts the rest, so a flood of refusals or failed logins (every one
/// of them an attacker's choice) costs a few lines a second, not a line per connection. The first line of each
/// interval reports how many were suppressed before it. Taken once per refused connection or failed login, never per
/// byte or datagram, so a lock is cheap here.
/// </summary>
internal sealed class LogRateLimiter
{
    private readonly TimeProvider _timeProvider;
    private readonly long _intervalTicks;
    private readonly Lock _lock = new();
    private long _windowStart;
    private int _written;
    private long _suppressed;

    public LogRateLimiter(TimeProvider timeProvider, TimeSpan interval, int linesPerInterval = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerInterval, 1);
        _timeProvider = timeProvider;
        _intervalTicks = (long)(interval.TotalSeconds * timeProvider.TimestampFrequency);
        LinesPerInterval = linesPerInterval;
        _windowStart = timeProvider.GetTimestamp();
    }

    public int LinesPerInterval { get; }

    /// <summary>True when this event may be logged; <paramref name="suppressed"/> is how many were not since the last one that was.</summary>
    public bool TryAcquire(out long suppressed)
    {
        var now = _timeProvider.GetTimestamp();
        lock (_lock)
        {
            if (now - _windowStart >= _intervalTicks)
            {
                _windowStart = now;
                _written = 0;
            }

            if (_written >= LinesPerInterval)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }

            _written++;
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
