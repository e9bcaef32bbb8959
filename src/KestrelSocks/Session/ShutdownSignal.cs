namespace KestrelSocks.Session;

/// <summary>
/// Fires when the SOCKS listeners close at shutdown: sessions still in their handshake, connect or BIND wait stop at
/// once; established tunnels and UDP associations run on until they end or the drain runs out. One token for every
/// session, so a connection pays nothing for it.
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _closing = new();

    public CancellationToken Token => _closing.Token;

    public bool IsSignalled => _closing.IsCancellationRequested;

    public void Signal() => _closing.Cancel();

    public void Dispose() => _closing.Dispose();
}
