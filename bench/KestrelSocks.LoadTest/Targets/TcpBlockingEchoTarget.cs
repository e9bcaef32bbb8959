using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;

namespace KestrelSocks.LoadTest.Targets;

/// <summary>
/// A loopback TCP echo that serves each connection on a thread of its own with blocking calls, so an echo never
/// waits in the thread pool's queue behind the generator's own load. A thread per connection suits a few long
/// sessions (a latency probe), not thousands: use <see cref="TcpEchoTarget"/> for those. Disposing closes the open
/// connections, and their threads end on the resulting socket error.
/// </summary>
internal sealed class TcpBlockingEchoTarget : TcpTarget
{
    private const int BufferSize = 16 * 1024;

    private long _accepted;

    private TcpBlockingEchoTarget(Socket listener)
        : base(listener)
    {
        StartAccepting();
    }

    public static TcpBlockingEchoTarget Start(IPAddress address, int port = 0) => new(Listen(address, port, backlog: 16));

    protected override Task ServeAsync(Socket connection, CancellationToken token)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            Echo(connection, token);
            done.SetResult();
        })
        {
            IsBackground = true,
            Name = $"tcp-blocking-echo-{Interlocked.Increment(ref _accepted)}",
        };
        thread.Start();
        return done.Task;
    }

    private static void Echo(Socket connection, CancellationToken token)
    {
        // The target's token is cancelled when it is disposed; a blocking Receive cannot watch it, so close the socket.
        var registration = SocketIo.CloseOnCancel(connection, token);
        var buffer = new byte[BufferSize];
        try
        {
            while (true)
            {
                var read = connection.Receive(buffer, SocketFlags.None);
                if (read == 0)
                {
                    connection.Shutdown(SocketShutdown.Send);
                    return;
                }

                SocketIo.SendAll(connection, buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The generator closes sessions abruptly at times; the echo has nothing to report.
        }
        finally
        {
            registration.Dispose();
            connection.Dispose();
        }
    }
}
