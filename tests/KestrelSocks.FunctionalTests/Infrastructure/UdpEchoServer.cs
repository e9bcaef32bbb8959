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
    private readonly Socket[] _sockets;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<byte[]> _received = new();
    private Task[] _loops = [];

    private UdpEchoServer(Socket[] sockets)
    {
        _sockets = sockets;
        EndPoints = [.. sockets.Select(s => (IPEndPoint)s.LocalEndPoint!)];
    }

    /// <summary>Where the server listens; the IPv4 one first when it listens on both loopbacks.</summary>
    public IPEndPoint EndPoint => EndPoints[0];

    public IReadOnlyList<IPEndPoint> EndPoints { get; }

    /// <summary>Every payload received so far, in arrival order.</summary>
    public IReadOnlyCollection<byte[]> Received => _received;

    public static UdpEchoServer Start(IPAddress? address = null) => Run([Bind(new IPEndPoint(address ?? IPAddress.Loopback, 0))]);

    /// <summary>
    /// One port on 127.0.0.1 and on ::1, for a destination given by name: "localhost" resolves to either first,
    /// depending on the machine's hosts file, and the relay sends to the first address it gets.
    /// </summary>
    public static UdpEchoServer StartOnBothLoopbacks()
    {
        for (var attempt = 0; ; attempt++)
        {
            var ipv6 = Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            try
            {
                var ipv4 = Bind(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)ipv6.LocalEndPoint!).Port));
                return Run([ipv4, ipv6]);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 20)
            {
                // Another socket has that port on 127.0.0.1: try another one.
                ipv6.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        await Task.WhenAll(_loops).WaitAsync(TestTimeouts.Default);
        _stopping.Dispose();
    }

    private static UdpEchoServer Run(Socket[] sockets)
    {
        var server = new UdpEchoServer(sockets);
        server._loops = [.. sockets.Select(server.EchoLoopAsync)];
        return server;
    }

    private static Socket Bind(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Room for a burst from many associations at once; the kernel caps it at net.core.rmem_max.
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            socket.Bind(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task EchoLoopAsync(Socket socket)
    {
        // The largest UDP payload fits, so nothing is ever truncated.
        var buffer = new byte[64 * 1024];
        var from = new SocketAddress(socket.AddressFamily);
        while (true)
        {
            int received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stopping.Token);
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
                await socket.SendToAsync(buffer.AsMemory(0, received), SocketFlags.None, from, _stopping.Token);
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
