using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.LoadTest.Targets;

/// <summary>A loopback TCP listener that hands each accepted connection to <see cref="ServeAsync"/> until disposed.</summary>
internal abstract class TcpTarget : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private Task _acceptLoop = Task.CompletedTask;

    protected TcpTarget(Socket listener)
    {
        _listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>A bound, listening socket; disposed again if listening fails.</summary>
    protected static Socket Listen(IPAddress address, int port, int backlog)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(backlog);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Called by the derived constructor once its own fields are set.</summary>
    protected void StartAccepting() => _acceptLoop = AcceptLoopAsync();

    /// <summary>Serves one connection and disposes it.</summary>
    protected abstract Task ServeAsync(Socket connection, CancellationToken token);

    private async Task AcceptLoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                if (token.IsCancellationRequested)
                {
                    return;
                }

                // EMFILE and friends: back off briefly, the generator reports the failed sessions.
                await Task.Delay(10, CancellationToken.None);
                continue;
            }

            connection.NoDelay = true;
            _ = ServeAsync(connection, token);
        }
    }
}
