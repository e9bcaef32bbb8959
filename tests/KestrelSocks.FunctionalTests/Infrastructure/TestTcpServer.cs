using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A destination for the proxy to connect to: a loopback listener on port 0 that runs
/// <see cref="HandleAsync(Socket, CancellationToken)"/> for each connection it accepts, and remembers who connected.
/// </summary>
internal abstract class TestTcpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<Socket> _connections = new();
    private readonly ConcurrentQueue<IPEndPoint> _acceptedFrom = new();
    private readonly ConcurrentQueue<Task> _handlers = new();
    private Task _acceptLoop = Task.CompletedTask;

    protected TestTcpServer(IPAddress address)
    {
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(new IPEndPoint(address, 0));
            _listener.Listen(1024);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }

        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The remote end of every accepted connection: the proxy's upstream sockets.</summary>
    public IReadOnlyCollection<IPEndPoint> AcceptedFrom => _acceptedFrom;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        try
        {
            await Task.WhenAll([_acceptLoop, .. _handlers]).WaitAsync(TestTimeouts.Default);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or TimeoutException)
        {
            // Connections torn down by the dispose itself.
        }

        _stopping.Dispose();
    }

    /// <summary>Called by the derived type's factory once it is fully constructed.</summary>
    protected void StartAccepting() => _acceptLoop = AcceptLoopAsync();

    /// <summary>Serves one connection. The socket is disposed when this returns.</summary>
    protected abstract Task HandleAsync(Socket connection, CancellationToken cancellationToken);

    protected static async Task SendAllAsync(Socket connection, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await connection.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[sent..];
        }
    }

    protected static async Task<byte[]> ReceiveUntilEndAsync(Socket connection, CancellationToken cancellationToken)
    {
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var count = await connection.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (count == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, count);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            _acceptedFrom.Enqueue((IPEndPoint)connection.RemoteEndPoint!);
            _connections.Enqueue(connection);
            _handlers.Enqueue(RunAsync(connection));
        }
    }

    private async Task RunAsync(Socket connection)
    {
        try
        {
            await HandleAsync(connection, _stopping.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The proxy reset the connection, or the server is being disposed.
        }
        finally
        {
            connection.Dispose();
        }
    }
}
