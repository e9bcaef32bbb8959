namespace KestrelSocks.Authentication;

/// <summary>
/// At most a given number of failed-authentication log lines per second across all clients, so a guesser cannot turn
/// its attempts into a flood of log. Lines over the limit are counted and reported with the next line written.
/// </summary>
internal sealed class FailureLogLimiter
{
    private readonly TimeProvider _timeProvider;
    private readonly Lock _lock = new();
    private long _windowStart;
    private int _written;
    private long _suppressed;

    public FailureLogLimiter(int linesPerSecond, TimeProvider timeProvider)
    {
        LinesPerSecond = linesPerSecond;
        _timeProvider = timeProvider;
        _windowStart = timeProvider.GetTimestamp();
    }

    public int LinesPerSecond { get; }

    /// <summary>True when a line may be written now; <paramref name="suppressed"/> is how many were held back before it.</summary>
    public bool TryAcquire(out long suppressed)
    {
        suppressed = 0;
        var now = _timeProvider.GetTimestamp();
        lock (_lock)
        {
            if (_timeProvider.GetElapsedTime(_windowStart, now) >= TimeSpan.FromSeconds(1))
            {
                _windowStart = now;
                _written = 0;
            }

            if (_written >= LinesPerSecond)
            {
                _suppressed++;
                return false;
            }

            _written++;
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
