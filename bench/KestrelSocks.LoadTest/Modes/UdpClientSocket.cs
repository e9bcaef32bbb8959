using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Payload;
using KestrelSocks.Protocol;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// One UDP socket of the generator with a dedicated receive thread (blocking, SocketAddress-based ReceiveFrom: two
/// system calls and no allocation per datagram, no thread-pool hop). Several associations may share it: each one
/// is still its own UDP ASSOCIATE with its own control connection and relay port at the proxy, and the echo names
/// its association in the payload stamp. The socket is only ever used synchronously, so it stays a blocking socket.
/// </summary>
internal sealed class UdpClientSocket : IDisposable
{
    private readonly PayloadPattern _pattern;
    private readonly int _payloadLength;
    private readonly IPEndPoint _echo;
    private readonly byte[] _echoAddress;
    private readonly bool _proxied;
    private readonly Thread _thread;
    private UdpAssociationClient[] _associations = [];
    private volatile bool _stopping;

    public UdpClientSocket(PayloadPattern pattern, int payloadLength, IPEndPoint echo, bool proxied, int index)
    {
        _pattern = pattern;
        _payloadLength = payloadLength;
        _echo = echo;
        _echoAddress = echo.Address.GetAddressBytes();
        _proxied = proxied;
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 100 };
        UdpBuffers.Enlarge(Socket);
        Socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        LocalEndPoint = (IPEndPoint)Socket.LocalEndPoint!;
        _thread = new Thread(Receive) { IsBackground = true, Name = $"udp-receive-{index}", Priority = ThreadPriority.AboveNormal };
    }

    public Socket Socket { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Starts receiving for <paramref name="all"/> (indexed by association number; only those bound here are served).</summary>
    public void Start(UdpAssociationClient[] all)
    {
        _associations = all;
        _thread.Start();
    }

    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(2));
        }

        Socket.Dispose();
    }

    private void Receive()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(_payloadLength + 512, pinned: true);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stopping)
        {
            int read;
            try
            {
                read = Socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.ConnectionReset)
            {
                continue;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }

            Check(buffer.AsSpan(0, read));
        }
    }

    private void Check(ReadOnlySpan<byte> datagram)
    {
        var payload = datagram;
        if (_proxied)
        {
            var status = Socks5UdpHeader.TryParse(datagram, out var fragment, out var source, out var headerLength);
            if (status != UdpHeaderStatus.Valid || fragment != 0 || source.Port != _echo.Port || !source.AddressBytes.SequenceEqual(_echoAddress))
            {
                CountStray();
                return;
            }

            payload = datagram[headerLength..];
        }

        if (payload.Length != _payloadLength)
        {
            CountStray();
            return;
        }

        var (association, stepId, sequence) = UdpDatagram.ReadStamp(payload);
        if ((uint)association >= (uint)_associations.Length || _associations[association].Home != this)
        {
            CountStray();
            return;
        }

        _associations[association].Accept(stepId, sequence, payload, _pattern);
    }

    /// <summary>A datagram that cannot be tied to an association of this socket: counted against the first.</summary>
    private void CountStray()
    {
        if (_associations.FirstOrDefault(a => a.Home == this) is { } first)
        {
            first.CountCorrupt();
        }
    }
}
