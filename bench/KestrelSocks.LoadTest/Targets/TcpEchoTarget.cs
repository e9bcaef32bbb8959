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
internal sealed class TcpEchoTarget : TcpTarget
{
    private const int BufferSize = 16 * 1024;

    private long _accepted;
    private long _open;

    private TcpEchoTarget(Socket listener)
        : base(listener)
    {
        StartAccepting();
    }

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Open => Interlocked.Read(ref _open);

    public static TcpEchoTarget Start(IPAddress address, int port = 0) => new(Listen(address, port, backlog: 4096));

    protected override Task ServeAsync(Socket connection, CancellationToken token)
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _open);
        return EchoAsync(connection, token);
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
