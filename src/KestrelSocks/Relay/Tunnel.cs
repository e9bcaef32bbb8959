using System.Net.Sockets;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;

namespace KestrelSocks.Relay;

/// <summary>
/// What every tunnel shares, whatever moves its bytes: the idle timer, the byte counters, and one way to fail.
/// <list type="bullet">
/// <item>Back-pressure: a direction reads only as fast as the other side takes its bytes.</item>
/// <item>Half-close: end of stream on one side becomes FIN on the other; the other direction flows on.</item>
/// <item>Failure: an error or reset on either side resets both, so neither peer mistakes it for a clean end.</item>
/// <item>Idle: no byte in either direction for the idle timeout closes the tunnel.</item>
/// <item>Bandwidth: a direction with a bucket (its user's) moves only bytes it has tokens for, and waits for more
/// without holding a thread; the wait ends when the tunnel fails, the idle timeout included.</item>
/// </list>
/// </summary>
internal abstract class Tunnel : IDisposable
{
    private readonly SocksMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _idleTimeout;
    private long _lastActivity;
    private long _bytesUp;
    private long _bytesDown;
    private int _end = -1;
    private Exception? _error;
    private ITimer? _idleTimer;

    protected SocksMetrics Metrics => _metrics;

    // Only a tunnel with a bucket waits on a timer, which a reset socket does not end: it has a source to cancel.
    private readonly CancellationTokenSource? _tokenWait;

    /// <param name="upstreamLimit">Tokens for bytes to the destination; null when unlimited.</param>
    /// <param name="downstreamLimit">Tokens for bytes to the client; null when unlimited.</param>
    protected Tunnel(Socket upstream, TimeSpan idleTimeout, SocksMetrics metrics, TimeProvider timeProvider,
        TokenBucket? upstreamLimit, TokenBucket? downstreamLimit)
    {
        Upstream = upstream;
        _idleTimeout = idleTimeout;
        _metrics = metrics;
        _timeProvider = timeProvider;
        UpstreamLimit = upstreamLimit;
        DownstreamLimit = downstreamLimit;
        if (upstreamLimit is not null || downstreamLimit is not null)
        {
            _tokenWait = new CancellationTokenSource();
        }
    }

    public long BytesUp => Interlocked.Read(ref _bytesUp);

    public long BytesDown => Interlocked.Read(ref _bytesDown);

    /// <summary>How the tunnel ended, once <see cref="RunAsync"/> has returned.</summary>
    public TunnelEnd End => (TunnelEnd)Volatile.Read(ref _end);

    /// <summary>The failure that ended the tunnel, if one did.</summary>
    public Exception? Error => _error;

    protected Socket Upstream { get; }

    protected TokenBucket? UpstreamLimit { get; }

    protected TokenBucket? DownstreamLimit { get; }

    public async Task<TunnelEnd> RunAsync()
    {
        _lastActivity = _timeProvider.GetTimestamp();
        using var idleTimer = _timeProvider.CreateTimer(static state => ((Tunnel)state!).OnIdleTimer(), this, _idleTimeout, Timeout.InfiniteTimeSpan);
        _idleTimer = idleTimer;
        try
        {
            var up = PumpUpstreamAsync();
            var down = PumpDownstreamAsync();
            await up;
            await down;
        }
        finally
        {
            // Claim the end before tearing down, so a late idle timer cannot abort a connection that finished cleanly.
            Interlocked.CompareExchange(ref _end, (int)TunnelEnd.Completed, -1);
            _idleTimer = null;
            Upstream.Dispose();
            OnCompleted();
        }

        return (TunnelEnd)_end;
    }

    public void Dispose()
    {
        _tokenWait?.Dispose();
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Client to destination. Ends by passing the client's FIN on; reports failures through <see cref="Fail"/>.</summary>
    protected abstract Task PumpUpstreamAsync();

    /// <summary>Destination to client.</summary>
    protected abstract Task PumpDownstreamAsync();

    /// <summary>Resets the client side.</summary>
    protected abstract void AbortClient();

    /// <summary>
    /// The tunnel has failed and both sides are about to be reset. Resetting a socket ends every wait on it, so a
    /// tunnel whose pumps wait only on sockets needs nothing here (and no cancellation registration per wait).
    /// </summary>
    protected virtual void OnFailing()
    {
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Both pumps are done; release what the tunnel owns.</summary>
    protected virtual void OnCompleted()
    {
    }

    /// <summary>
    /// Tokens for a move of up to <paramref name="wanted"/> bytes from <paramref name="limit"/>: between 1 and
    /// <paramref name="wanted"/>, after a wait while the bucket is empty. Throws <see cref="OperationCanceledException"/>
    /// once the tunnel has failed.
    /// </summary>
    protected ValueTask<int> TakeTokensAsync(TokenBucket limit, int wanted) => limit.TakeAsync(wanted, _tokenWait!.Token);

    protected void CountUp(long bytes)
    {
        Interlocked.Add(ref _bytesUp, bytes);
        _metrics.BytesRelayed(upstream: true, bytes);
        Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
    }

    protected void CountDown(long bytes)
    {
        Interlocked.Add(ref _bytesDown, bytes);
        _metrics.BytesRelayed(upstream: false, bytes);
        Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());
    }

    /// <summary>Ends the tunnel with a reset on both sides. The first failure names the end; the ones it causes are its echoes.</summary>
    protected void Fail(TunnelEnd end, Exception? error)
    {
        if (Interlocked.CompareExchange(ref _end, (int)end, -1) != -1)
        {
            return;
        }

        _error = error;
        OnFailing();
        Reset(Upstream);
        AbortClient();
        try
        {
            // Last: a cancelled wait may run its pump's ending inline, and that should find both sides reset.
            _tokenWait?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    protected static TunnelEnd FailedSide(bool upstreamSide) =>
        upstreamSide ? TunnelEnd.UpstreamFailed : TunnelEnd.ClientFailed;

    /// <summary>Closes with RST (linger 0), so the peer learns this was a failure, not a clean end of stream.</summary>
    protected static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    private void OnIdleTimer()
    {
        var idleFor = _timeProvider.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (idleFor >= _idleTimeout)
        {
            Fail(TunnelEnd.IdleTimeout, null);
        }
        else
        {
            _idleTimer?.Change(_idleTimeout - idleFor, Timeout.InfiniteTimeSpan);
        }
    }
}
