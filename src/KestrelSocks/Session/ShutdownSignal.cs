namespace KestrelSocks.Session;

/// <summary>
/// The two moments of a drain every session watches, one token each for all of them, so a connection pays nothing
/// for them: <see cref="Token"/> fires when the SOCKS listeners close (sessions still in their handshake, connect or
/// BIND wait stop at once; tunnels and UDP associations run on); <see cref="AbortToken"/> fires when the drain runs
/// out (everything still open is aborted).
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _closing = new();
    private readonly CancellationTokenSource _abort = new();

    public CancellationToken Token => _closing.Token;

    public CancellationToken AbortToken => _abort.Token;

    public bool IsSignalled => _closing.IsCancellationRequested;

    public bool IsAborted => _abort.IsCancellationRequested;

    public void Signal() => _closing.Cancel();

    public void Abort()
    {
        _closing.Cancel();
        _abort.Cancel();
    }

    public void Dispose()
    {
        _closing.Dispose();
        _abort.Dispose();
    }
}
