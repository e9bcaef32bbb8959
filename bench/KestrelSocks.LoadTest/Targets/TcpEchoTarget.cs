using System.Buffers;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;

namespace KestrelSocks.LoadTest.Targets;

/// <summary>
/// A loopback TCP echo server. Each connection waits for data with a zero-byte read and rents a buffer only
/// while echoing, so thousands of idle connections cost the target no buffers. On the peer's FIN it echoes what
/// is left and closes.
/// </summary>
internal sealed class TcpEchoTarget : IAsyncDisposable
{
    private const int BufferSize = 16 * 1024;

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private long _accepted;
    private long _open;

    private TcpEchoTarget(Socket listener)
    {
        _listener = listener;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Open => Interlocked.Read(ref _open);

    public static TcpEchoTarget Start(IPAddress address, int port = 0)
    {
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(4096);
            return new TcpEchoTarget(listener);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

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
            Interlocked.Increment(ref _accepted);
            Interlocked.Increment(ref _open);
            _ = EchoAsync(connection, token);
        }
    }

    private async Task EchoAsync(Socket connection, CancellationToken token)
    {
        try
        {
            while (true)
            {
                await connection.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token);
                var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                try
                {
                    var read = await connection.ReceiveAsync(buffer, SocketFlags.None, token);
                    if (read == 0)
                    {
                        connection.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    await SocketIo.SendAllAsync(connection, buffer.AsMemory(0, read), token);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The generator closes sessions abruptly at times; the echo has nothing to report.
        }
        finally
        {
            connection.Dispose();
            Interlocked.Decrement(ref _open);
        }
    }
}
