using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;

namespace KestrelSocks.LoadTest.Targets;

/// <summary>
/// A loopback UDP echo on dedicated threads with blocking, SocketAddress-based ReceiveFrom/SendTo: the socket is
/// never used asynchronously, so each datagram costs exactly two system calls and no allocation.
/// </summary>
internal sealed class UdpEchoTarget : IDisposable
{
    private readonly Socket _socket;
    private readonly Thread[] _threads;
    private volatile bool _stopping;
    private long _echoed;

    public UdpEchoTarget(IPAddress address, int threads)
    {
        _socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 200 };
        UdpBuffers.Enlarge(_socket);
        _socket.Bind(new IPEndPoint(address, 0));
        EndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _threads = new Thread[Math.Max(1, threads)];
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"udp-echo-{i}" };
            _threads[i].Start();
        }
    }

    public IPEndPoint EndPoint { get; }

    public long Echoed => Interlocked.Read(ref _echoed);

    public void Dispose()
    {
        _stopping = true;
        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(2));
        }

        _socket.Dispose();
    }

    private void Run()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        var peer = new SocketAddress(_socket.AddressFamily);
        long echoed = 0;
        while (!_stopping)
        {
            int read;
            try
            {
                read = _socket.ReceiveFrom(buffer, SocketFlags.None, peer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset)
            {
                Interlocked.Add(ref _echoed, echoed);
                echoed = 0;
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            try
            {
                _socket.SendTo(buffer.AsSpan(0, read), SocketFlags.None, peer);
                if (++echoed == 1024)
                {
                    Interlocked.Add(ref _echoed, echoed);
                    echoed = 0;
                }
            }
            catch (SocketException)
            {
                // A full queue or a vanished relay port: the datagram is lost and the generator counts it.
            }
        }

        Interlocked.Add(ref _echoed, echoed);
    }
}
