using System.Net;
using System.Net.Sockets;
using KestrelSocks.Protocol;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// The UDP half of one association: a client socket on loopback port 0 and the relay endpoint (BND.ADDR:BND.PORT) the
/// UDP ASSOCIATE reply announced. Datagrams go out behind a SOCKS5 UDP header (or as raw bytes, for malformed ones)
/// and come back with the header parsed and checked. Every receive is bounded by <see cref="TestTimeouts.Default"/>.
/// The control connection belongs to the test, so it can carry several associations or be closed at will.
/// </summary>
internal sealed class UdpAssociationClient : IDisposable
{
    private readonly byte[] _receiveBuffer = new byte[70 * 1024];
    private readonly IPEndPoint _anySender;

    private UdpAssociationClient(Socket socket, IPEndPoint relayEndPoint)
    {
        Socket = socket;
        RelayEndPoint = relayEndPoint;
        _anySender = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
    }

    /// <summary>DST.ADDR:DST.PORT of a request whose client does not know yet where it will send from.</summary>
    public static Socks5Address Unspecified { get; } = Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Any, 0));

    public Socket Socket { get; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    public IPEndPoint RelayEndPoint { get; }

    /// <summary>Opens a control connection and greets without authentication.</summary>
    public static async Task<SocksTestClient> ConnectControlAsync(IPEndPoint proxy)
    {
        var control = await SocksTestClient.ConnectAsync(proxy);
        try
        {
            Assert.Equal(AuthMethod.NoAuthentication, await control.GreetAsync(AuthMethod.NoAuthentication));
            return control;
        }
        catch
        {
            await control.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Binds a UDP socket on <paramref name="localAddress"/>, sends UDP ASSOCIATE on <paramref name="control"/> and
    /// asserts it succeeds. With <paramref name="declarePort"/> the request names the socket's address and port (so the
    /// relay accepts nothing else from the start); without it, 0.0.0.0:0, and the relay learns the port from the first
    /// datagram.
    /// </summary>
    public static async Task<UdpAssociationClient> OpenAsync(SocksTestClient control, IPAddress localAddress, bool declarePort = true)
    {
        var socket = new Socket(localAddress.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = 1024 * 1024;
            socket.Bind(new IPEndPoint(localAddress, 0));
            var declared = declarePort ? Socks5Address.FromEndPoint((IPEndPoint)socket.LocalEndPoint!) : Unspecified;
            var reply = await control.RequestAsync(Socks5Command.UdpAssociate, declared);
            Assert.Equal(ReplyCode.Succeeded, reply.Reply);
            Assert.NotEqual(0, reply.BoundAddress.Port);
            return new UdpAssociationClient(socket, new IPEndPoint(reply.BoundAddress.ToIPAddress(), reply.BoundAddress.Port));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>RSV RSV FRAG ATYP DST.ADDR DST.PORT DATA.</summary>
    public static byte[] Datagram(Socks5Address destination, ReadOnlySpan<byte> payload, byte fragment = 0)
    {
        var datagram = new byte[3 + destination.EncodedLength + payload.Length];
        var headerLength = Socks5UdpHeader.Write(datagram, fragment, destination);
        payload.CopyTo(datagram.AsSpan(headerLength));
        return datagram;
    }

    public Task SendAsync(IPEndPoint destination, ReadOnlySpan<byte> payload, byte fragment = 0) =>
        SendAsync(Socks5Address.FromEndPoint(destination), payload, fragment);

    public Task SendAsync(Socks5Address destination, ReadOnlySpan<byte> payload, byte fragment = 0) =>
        SendRawAsync(Datagram(destination, payload, fragment));

    /// <summary>Sends exactly these bytes to the relay, header or not.</summary>
    public async Task SendRawAsync(ReadOnlyMemory<byte> datagram)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        var sent = await Socket.SendToAsync(datagram, SocketFlags.None, RelayEndPoint, timeout.Token);
        Assert.Equal(datagram.Length, sent);
    }

    /// <summary>
    /// Receives the next datagram and asserts that it came from the relay endpoint with a well-formed, unfragmented
    /// header. Fails the test if nothing arrives within the timeout.
    /// </summary>
    public async Task<RelayedDatagram> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TestTimeouts.Default);
        SocketReceiveFromResult result;
        try
        {
            result = await Socket.ReceiveFromAsync(_receiveBuffer, SocketFlags.None, _anySender, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"No datagram from the relay at {RelayEndPoint} within {timeout ?? TestTimeouts.Default}.");
        }

        Assert.Equal(RelayEndPoint, (IPEndPoint)result.RemoteEndPoint);
        var datagram = _receiveBuffer.AsSpan(0, result.ReceivedBytes);
        var status = Socks5UdpHeader.TryParse(datagram, out var fragment, out var source, out var headerLength);
        Assert.Equal(UdpHeaderStatus.Valid, status);
        Assert.Equal(0, fragment);
        Assert.NotEqual(AddressType.DomainName, source.Type);
        return new RelayedDatagram(source, datagram[headerLength..].ToArray());
    }

    /// <summary>Sends <paramref name="payload"/> to an echo server and asserts that exactly it comes back, from that server.</summary>
    public Task<RelayedDatagram> EchoAsync(IPEndPoint echoServer, byte[] payload) =>
        EchoAsync(Socks5Address.FromEndPoint(echoServer), payload, echoServer);

    /// <summary>Sends <paramref name="payload"/> to <paramref name="destination"/> (a name, say) and asserts it comes back from <paramref name="expectedSource"/>.</summary>
    public async Task<RelayedDatagram> EchoAsync(Socks5Address destination, byte[] payload, IPEndPoint expectedSource)
    {
        await SendAsync(destination, payload);
        var reply = await ReceiveAsync();
        Assert.Equal(expectedSource, reply.SourceEndPoint);
        Assert.True(payload.AsSpan().SequenceEqual(reply.Payload), $"Sent {payload.Length} bytes, {reply.Payload.Length} came back, and they differ.");
        return reply;
    }

    public void Dispose() => Socket.Dispose();
}
