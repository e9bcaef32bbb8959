using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A UDP destination for the relay: a socket on loopback port 0 that sends every datagram straight back to its sender,
/// byte for byte, and remembers each payload in arrival order. A test that must prove something was <em>not</em>
/// delivered sends a sentinel after it and checks that the sentinel is all that arrived.
/// </summary>
internal sealed class UdpEchoServer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<byte[]> _received = new();
    private Task _loop = Task.CompletedTask;

    private UdpEchoServer(IPAddress address)
    {
        _socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Room for a burst from many associations at once; the kernel caps it at net.core.rmem_max.
            _socket.ReceiveBufferSize = 4 * 1024 * 1024;
            _socket.Bind(new IPEndPoint(address, 0));
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Every payload received so far, in arrival order.</summary>
    public IReadOnlyCollection<byte[]> Received => _received;

    public static UdpEchoServer Start(IPAddress? address = null)
    {
        var server = new UdpEchoServer(address ?? IPAddress.Loopback);
        server._loop = server.EchoLoopAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _socket.Dispose();
        await _loop.WaitAsync(TestTimeouts.Default);
        _stopping.Dispose();
    }

    private async Task EchoLoopAsync()
    {
        // The largest UDP payload fits, so nothing is ever truncated.
        var buffer = new byte[64 * 1024];
        var from = new SocketAddress(_socket.AddressFamily);
        while (true)
        {
            int received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stopping.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
            {
                // An ICMP error for an earlier reply: the socket is fine.
                continue;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _received.Enqueue(buffer.AsSpan(0, received).ToArray());
            try
            {
                await _socket.SendToAsync(buffer.AsMemory(0, received), SocketFlags.None, from, _stopping.Token);
            }
            catch (SocketException)
            {
                // The relay's socket is gone; a test that cares sees the missing reply.
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
        }
    }
}
