using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using KestrelSocks.Sockets;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// One UDP association: a socket facing the client (BND.ADDR/BND.PORT) and a socket facing every destination.
/// <list type="bullet">
/// <item>Client to destination: only datagrams from the client's IP (and port, once known) are taken; the header is
/// read, fragments are reassembled, domains are resolved off the receive path, and the payload goes out unchanged.</item>
/// <item>Destination to client: the payload is received behind room for a header, which is written in front of it
/// naming the sender, so the client can tell destinations apart. Nothing goes to the client before it has sent
/// from its address, so a forged request cannot aim the relay at a third party.</item>
/// <item>Every datagram that cannot be relayed is dropped and counted by reason; none is answered.</item>
/// </list>
/// Idle, an association holds two sockets, two pooled readiness args and a few hundred bytes; datagram buffers
/// are rented only while a socket is being drained.
/// </summary>
internal sealed class UdpAssociation : IUdpDrainer, IDisposable
{
    private const int BufferSize = 64 * 1024;
    private const int HeaderRoom = Socks5UdpHeader.MaxIPHeaderLength;
    private const int DrainBudget = 64;
    private const int MaxDestinations = 4096;
    private const int MaxPendingDatagrams = 64;

    private readonly UdpRelay _relay;
    private readonly Socket _clientSocket;
    private readonly Socket _outboundSocket;
    private readonly bool _outboundIsDualMode;
    private readonly UdpSocketPump _clientPump;
    private readonly UdpSocketPump _outboundPump;
    private readonly byte[] _clientAddress;
    private readonly SocketAddress _clientFrom;
    private readonly SocketAddress _remoteFrom;
    private readonly Dictionary<DestinationKey, SocketAddress?> _destinations = [];
    private readonly Lock _reassemblyLock = new();
    private readonly Lock _pendingLock = new();
    private readonly long _started;
    private FragmentReassembler? _reassembler;
    private List<PendingDatagram>? _pending;
    private HashSet<Task<IPAddress[]?>>? _awaitedResolutions;
    private SocketAddress? _clientReturnAddress;
    private int _clientPort;
    private long _lastActivity;
    private long _datagramsUp;
    private long _bytesUp;
    private long _datagramsDown;
    private long _bytesDown;
    private int _closed;

    public UdpAssociation(UdpRelay relay, UdpAssociationSettings settings, long id)
    {
        _relay = relay;
        Id = id;
        Settings = settings;
        _started = relay.TimeProvider.GetTimestamp();
        _lastActivity = _started;

        var clientAddress = settings.ClientAddress.Unmap();
        _clientAddress = clientAddress.GetAddressBytes();
        _clientPort = settings.ClientPort;

        var relayAddress = relay.ListenAddress ?? settings.ControlLocalAddress.Unmap();
        if (relayAddress.AddressFamily != clientAddress.AddressFamily)
        {
            // The client declared an address of the other family than its control connection's. The wildcard address
            // would be announced as the control connection's address, of the wrong family; the route to the client
            // names one of the right family that the client can reach.
            relayAddress = Sockets.LocalRoute.GetSourceAddress(clientAddress);
        }

        _clientSocket = new Socket(relayAddress.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _outboundIsDualMode = Socket.OSSupportsIPv6;
        _outboundSocket = _outboundIsDualMode
            ? new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true }
            : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            Configure(_clientSocket);
            Configure(_outboundSocket);
            Sockets.PortRangeBinder.Bind(_clientSocket, relayAddress, relay.Options.PortRangeStart, relay.Options.PortRangeEnd);
            _outboundSocket.Bind(new IPEndPoint(_outboundIsDualMode ? IPAddress.IPv6Any : IPAddress.Any, 0));
        }
        catch
        {
            _clientSocket.Dispose();
            _outboundSocket.Dispose();
            throw;
        }

        RelayEndPoint = (IPEndPoint)_clientSocket.LocalEndPoint!;
        _clientFrom = new SocketAddress(_clientSocket.AddressFamily);
        _remoteFrom = new SocketAddress(_outboundSocket.AddressFamily);
        _clientPump = new UdpSocketPump(_clientSocket, this, relay.EventArgsPool);
        _outboundPump = new UdpSocketPump(_outboundSocket, this, relay.EventArgsPool);
    }

    public event Action<UdpAssociation, UdpAssociationEnd>? Closed;

    public long Id { get; }

    public UdpAssociationSettings Settings { get; }

    /// <summary>Where the client sends its datagrams.</summary>
    public IPEndPoint RelayEndPoint { get; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public long DatagramsUp => Interlocked.Read(ref _datagramsUp);

    public long BytesUp => Interlocked.Read(ref _bytesUp);

    public long DatagramsDown => Interlocked.Read(ref _datagramsDown);

    public long BytesDown => Interlocked.Read(ref _bytesDown);

    public TimeSpan Age => _relay.TimeProvider.GetElapsedTime(_started);

    public void Start()
    {
        _clientPump.Start();
        _outboundPump.Start();
    }

    public void Close(UdpAssociationEnd reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _clientPump.Stop();
        _outboundPump.Stop();

        // Closing the sockets completes the pending readiness receives, which hand their args back to the pool.
        _clientSocket.Dispose();
        _outboundSocket.Dispose();

        lock (_reassemblyLock)
        {
            _reassembler?.Dispose();
        }

        ReturnPending(reason == UdpAssociationEnd.Shutdown ? UdpDropReason.SendFailure : UdpDropReason.DnsFailure);
        _relay.OnClosed(this, reason);
        Closed?.Invoke(this, reason);
    }

    /// <summary>The owner lets go: the same as its control connection closing.</summary>
    public void Dispose() => Close(UdpAssociationEnd.ControlClosed);

    /// <summary>Ends an idle association and abandons a sequence whose reassembly timer ran out.</summary>
    public void Sweep(long now)
    {
        if (now - Volatile.Read(ref _lastActivity) >= _relay.IdleTimeoutTicks)
        {
            Close(UdpAssociationEnd.IdleTimeout);
            return;
        }

        lock (_reassemblyLock)
        {
            if (_reassembler is { IsActive: true } reassembler && now - reassembler.StartedAt >= _relay.ReassemblyTimeoutTicks)
            {
                _relay.Metrics.UdpDropped(UdpDropReason.ReassemblyTimeout, reassembler.Reset());
            }
        }
    }

    public bool Drain(Socket socket)
    {
        var toDestinations = socket == _clientSocket;
        if (_relay.BatchedIO && OperatingSystem.IsLinux())
        {
            return DrainBatched(toDestinations, UdpBatch.Current);
        }

        return DrainPortable(toDestinations);
    }

    public void OnSocketFailed(Socket socket, SocketError error) => Close(UdpAssociationEnd.SocketError);

    /// <summary>Linux: one recvmmsg for up to 16 datagrams, relayed in place, one sendmmsg for what they produced.</summary>
    [SupportedOSPlatform("linux")]
    private bool DrainBatched(bool toDestinations, UdpBatch batch)
    {
        var source = toDestinations ? _clientSocket : _outboundSocket;
        var destination = toDestinations ? _outboundSocket : _clientSocket;
        var offset = toDestinations ? 0 : HeaderRoom;
        var sourceFamily = source.AddressFamily;
        var relayed = new Relayed(batch);
        var received = 0;
        try
        {
            for (var round = 0; round < DrainBudget / UdpBatch.Slots; round++)
            {
                received = batch.Receive(source, offset);
                if (received == 0)
                {
                    return false;
                }

                for (var i = 0; i < received; i++)
                {
                    var length = batch.Length(i);
                    if (length < 0)
                    {
                        _relay.Metrics.UdpDropped(UdpDropReason.TooLarge);
                        continue;
                    }

                    var slot = batch.Slot(i);
                    if (toDestinations)
                    {
                        OnClientDatagram(slot, length, sourceFamily, batch.SourceName(i), ref relayed);
                    }
                    else
                    {
                        OnRemoteDatagram(slot, length, sourceFamily, batch.SourceName(i), ref relayed);
                    }
                }

                relayed.Flush(destination, _relay.Metrics);
            }

            return received == UdpBatch.Slots;
        }
        catch
        {
            batch.Clear();
            throw;
        }
        finally
        {
            Count(toDestinations, relayed.Datagrams, relayed.Bytes);
        }
    }

    /// <summary>Elsewhere: one non-blocking receive and one send per datagram, through a pooled buffer.</summary>
    private bool DrainPortable(bool toDestinations)
    {
        var source = toDestinations ? _clientSocket : _outboundSocket;
        var from = toDestinations ? _clientFrom : _remoteFrom;
        var offset = toDestinations ? 0 : HeaderRoom;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var relayed = default(Relayed);
        try
        {
            for (var i = 0; i < DrainBudget; i++)
            {
                if (i > 0 && source.Available == 0)
                {
                    return false;
                }

                int received;
                try
                {
                    received = source.ReceiveFrom(buffer.AsSpan(offset, BufferSize - offset), SocketFlags.None, from);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                {
                    return false;
                }
                catch (SocketException e) when (IsTransient(e.SocketErrorCode))
                {
                    continue;
                }

                var slot = buffer.AsSpan(0, BufferSize);
                var sourceName = from.Buffer.Span[..from.Size];
                if (toDestinations)
                {
                    OnClientDatagram(slot, received, from.Family, sourceName, ref relayed);
                }
                else
                {
                    OnRemoteDatagram(slot, received, from.Family, sourceName, ref relayed);
                }
            }

            return source.Available > 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Count(toDestinations, relayed.Datagrams, relayed.Bytes);
        }
    }

    /// <summary>One datagram from the client side, at the start of <paramref name="slot"/>.</summary>
    private void OnClientDatagram(Span<byte> slot, int length, AddressFamily family, ReadOnlySpan<byte> sourceName, ref Relayed relayed)
    {
        if (!IsFromClient(family, sourceName))
        {
            _relay.Metrics.UdpDropped(UdpDropReason.WrongSource);
            return;
        }

        // Only the association's own traffic keeps it alive: strangers' datagrams must not.
        Touch();

        try
        {
            FromClient(slot, length, ref relayed);
        }
        catch (Exception e) when (e is not ObjectDisposedException)
        {
            // A bug must cost one datagram, never the association or the process.
            _relay.OnInternalError(this, e);
        }
    }

    /// <summary>One datagram from a destination, received at <see cref="HeaderRoom"/> in <paramref name="slot"/>.</summary>
    private void OnRemoteDatagram(Span<byte> slot, int length, AddressFamily family, ReadOnlySpan<byte> sourceName, ref Relayed relayed)
    {
        if (length > _relay.Options.MaxDatagramSize)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.TooLarge);
            return;
        }

        var client = Volatile.Read(ref _clientReturnAddress);
        if (client is null)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.ClientUnknown);
            return;
        }

        // The header names the sender, so the client can tell its destinations apart.
        Span<byte> source = stackalloc byte[16];
        var addressLength = SocketAddressCodec.Read(family, sourceName, source, out var port);
        if (_relay.Options.RepliesOnlyFromContacted && !IsContacted(source[..addressLength], port))
        {
            // Port-restricted, like a NAT: only a destination the client has sent to may answer it.
            _relay.Metrics.UdpDropped(UdpDropReason.Unsolicited);
            return;
        }

        Touch();
        var start = Socks5UdpHeader.WriteBefore(slot, HeaderRoom, addressLength == 16 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, source, port);
        Send(_clientSocket, slot[start..(HeaderRoom + length)], length, client, ref relayed);
    }

    private void Touch() => Volatile.Write(ref _lastActivity, _relay.TimeProvider.GetTimestamp());

    private bool IsContacted(ReadOnlySpan<byte> address, ushort port)
    {
        var key = DestinationKey.Create(address, port);
        lock (_destinations)
        {
            return _destinations.TryGetValue(key, out var target) && target is not null;
        }
    }

    private bool IsFromClient(AddressFamily family, ReadOnlySpan<byte> sourceName)
    {
        Span<byte> source = stackalloc byte[16];
        var length = SocketAddressCodec.Read(family, sourceName, source, out var port);
        if (!source[..length].SequenceEqual(_clientAddress))
        {
            return false;
        }

        var expectedPort = _clientPort;
        if (expectedPort == 0)
        {
            // All-zero DST.PORT in the request: the first datagram from the client's IP names its port.
            _clientPort = port;
        }
        else if (port != expectedPort)
        {
            return false;
        }

        if (_clientReturnAddress is null)
        {
            var copy = new SocketAddress(family, sourceName.Length);
            sourceName.CopyTo(copy.Buffer.Span);
            Volatile.Write(ref _clientReturnAddress, copy);
        }

        return true;
    }

    private void FromClient(Span<byte> slot, int length, ref Relayed relayed)
    {
        var datagram = slot[..length];
        if (Socks5UdpHeader.TryParse(datagram, out var fragment, out var destination, out var headerLength) != UdpHeaderStatus.Valid)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.Malformed);
            return;
        }

        Span<byte> payload = datagram[headerLength..];
        if (fragment != 0)
        {
            if (!_relay.Options.Fragmentation)
            {
                _relay.Metrics.UdpDropped(UdpDropReason.FragmentDropped);
                return;
            }

            FragmentResult result;
            int assembledLength;
            int abandoned;
            lock (_reassemblyLock)
            {
                if (IsClosed)
                {
                    return;
                }

                _reassembler ??= new FragmentReassembler(_relay.Options.MaxDatagramSize);

                // The fragment is copied into the queue first, so the whole datagram may be assembled over it.
                result = _reassembler.Add(fragment, destination, payload, _relay.TimeProvider.GetTimestamp(),
                    slot, out assembledLength, out var assembledDestination, out abandoned);
                destination = assembledDestination;
            }

            _relay.Metrics.UdpDropped(UdpDropReason.FragmentDropped, abandoned + (result == FragmentResult.Dropped ? 1 : 0));
            if (result != FragmentResult.Complete)
            {
                return;
            }

            payload = slot[..assembledLength];
        }

        if (payload.Length > _relay.Options.MaxDatagramSize)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.TooLarge);
            return;
        }

        if (TryGetTarget(destination, payload, out var target))
        {
            Send(_outboundSocket, payload, payload.Length, target, ref relayed);
        }
    }

    /// <summary>
    /// The socket address to send to. False when the datagram was dropped (rule set, DNS) or parked until its
    /// domain resolves; parked datagrams are sent by <see cref="SendWhenResolvedAsync"/>.
    /// </summary>
    private bool TryGetTarget(in Socks5Address destination, ReadOnlySpan<byte> payload, out SocketAddress target)
    {
        target = null!;
        SocketAddress? found;
        if (destination.Type == AddressType.DomainName)
        {
            if (!_relay.Dns.TryGet(destination.AddressBytes, out var addresses, out var resolution))
            {
                Enqueue(destination, payload, resolution!);
                return false;
            }

            var address = addresses is null ? null : PickAddress(addresses);
            if (address is null)
            {
                _relay.Metrics.UdpDropped(UdpDropReason.DnsFailure);
                return false;
            }

            Span<byte> bytes = stackalloc byte[16];
            address.TryWriteBytes(bytes, out var written);
            found = GetTarget(bytes[..written], destination.Port);
        }
        else
        {
            found = GetTarget(destination.AddressBytes, destination.Port);
        }

        if (found is null)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.Policy);
            return false;
        }

        target = found;
        return true;
    }

    /// <summary>
    /// Sends now, or queues on the batch when the drain is batched (the datagram then lies in the batch's slots).
    /// <paramref name="payloadLength"/> is what counts as relayed: the datagram without its SOCKS header.
    /// </summary>
    private void Send(Socket socket, ReadOnlySpan<byte> datagram, int payloadLength, SocketAddress target, ref Relayed relayed)
    {
        if (relayed.Batch is { } batch && OperatingSystem.IsLinux())
        {
            if (!batch.TryQueue(datagram, payloadLength, target.Buffer.Span[..target.Size]))
            {
                relayed.Flush(socket, _relay.Metrics);
                batch.TryQueue(datagram, payloadLength, target.Buffer.Span[..target.Size]);
            }

            return;
        }

        try
        {
            socket.SendTo(datagram, SocketFlags.None, target);
            relayed.Datagrams++;
            relayed.Bytes += payloadLength;
        }
        catch (SocketException e)
        {
            _relay.Metrics.UdpDropped(ToDropReason(e.SocketErrorCode));
        }
    }

    private void Count(bool toDestinations, long datagrams, long bytes)
    {
        if (toDestinations)
        {
            Interlocked.Add(ref _datagramsUp, datagrams);
            Interlocked.Add(ref _bytesUp, bytes);
        }
        else
        {
            Interlocked.Add(ref _datagramsDown, datagrams);
            Interlocked.Add(ref _bytesDown, bytes);
        }

        _relay.Metrics.UdpRelayed(toDestinations, datagrams, bytes);
    }

    internal static UdpDropReason ToDropReason(SocketError error) =>
        error == SocketError.MessageSize ? UdpDropReason.TooLarge : UdpDropReason.SendFailure;

    /// <summary>The socket address of an IP destination, built and checked against the rule set once; null when refused.</summary>
    private SocketAddress? GetTarget(ReadOnlySpan<byte> address, ushort port)
    {
        var key = DestinationKey.Create(address, port);
        lock (_destinations)
        {
            if (_destinations.TryGetValue(key, out var target))
            {
                return target;
            }

            var ip = new IPAddress(address);
            if (_relay.Policy.IsAllowed(ip) && (_outboundIsDualMode || ip.AddressFamily == AddressFamily.InterNetwork))
            {
                target = new IPEndPoint(_outboundIsDualMode ? ip.MapToIPv6() : ip, port).Serialize();
            }

            if (_destinations.Count >= MaxDestinations)
            {
                _destinations.Clear();
            }

            _destinations[key] = target;
            return target;
        }
    }

    private IPAddress? PickAddress(IPAddress[] addresses)
    {
        foreach (var address in addresses)
        {
            if (_outboundIsDualMode || address.AddressFamily == AddressFamily.InterNetwork)
            {
                return address;
            }
        }

        return null;
    }

    private void Enqueue(in Socks5Address destination, ReadOnlySpan<byte> payload, Task<IPAddress[]?> resolution)
    {
        var watch = false;
        lock (_pendingLock)
        {
            _pending ??= [];
            if (IsClosed || _pending.Count >= MaxPendingDatagrams)
            {
                _relay.Metrics.UdpDropped(UdpDropReason.DnsFailure);
                return;
            }

            var copy = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
            payload.CopyTo(copy);
            _pending.Add(new PendingDatagram(copy, payload.Length, destination));
            _awaitedResolutions ??= [];
            watch = _awaitedResolutions.Add(resolution);
        }

        if (watch)
        {
            _ = SendWhenResolvedAsync(resolution);
        }
    }

    private async Task SendWhenResolvedAsync(Task<IPAddress[]?> resolution)
    {
        await ((Task)resolution).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        List<PendingDatagram> ready;
        lock (_pendingLock)
        {
            _awaitedResolutions!.Remove(resolution);
            if (_pending is null || _pending.Count == 0 || IsClosed)
            {
                return;
            }

            ready = _pending;
            _pending = null;
        }

        var relayed = default(Relayed);
        foreach (var item in ready)
        {
            // Datagrams for names still resolving go back to the queue; the rest are sent now, one by one.
            try
            {
                var payload = item.Buffer.AsSpan(0, item.Length);
                if (TryGetTarget(item.Destination, payload, out var target))
                {
                    Send(_outboundSocket, payload, payload.Length, target, ref relayed);
                }
            }
            catch (ObjectDisposedException)
            {
                // Closed meanwhile.
            }
            catch (Exception e)
            {
                _relay.OnInternalError(this, e);
            }

            ArrayPool<byte>.Shared.Return(item.Buffer);
        }

        Count(toDestinations: true, relayed.Datagrams, relayed.Bytes);
    }

    private void ReturnPending(UdpDropReason reason)
    {
        lock (_pendingLock)
        {
            if (_pending is null)
            {
                return;
            }

            _relay.Metrics.UdpDropped(reason, _pending.Count);
            foreach (var item in _pending)
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }

            _pending = null;
        }
    }

    private void Configure(Socket socket)
    {
        socket.Blocking = false;
        try
        {
            socket.ReceiveBufferSize = _relay.Options.SocketReceiveBufferSize;
            socket.SendBufferSize = _relay.Options.SocketSendBufferSize;
        }
        catch (SocketException)
        {
            // The kernel caps buffer sizes; what it grants is the best available.
        }
    }

    /// <summary>What a drain relayed, and the batch its sends queue on (none: each datagram is sent at once).</summary>
    private struct Relayed
    {
        public Relayed(UdpBatch? batch)
        {
            Batch = batch;
        }

        public UdpBatch? Batch { get; }

        public long Datagrams;

        public long Bytes;

        public void Flush(Socket socket, SocksMetrics metrics)
        {
            if (Batch is not null && OperatingSystem.IsLinux())
            {
                Bytes += Batch.Flush(socket, metrics, out var sent);
                Datagrams += sent;
            }
        }
    }

    private static bool IsTransient(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.HostUnreachable
            or SocketError.NetworkUnreachable or SocketError.MessageSize;
}
