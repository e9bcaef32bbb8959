using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;
using KestrelSocks.Sockets;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// One UDP association: the relay endpoint its client sends to (BND.ADDR/BND.PORT), relaying to any number of
/// destinations and back.
/// <list type="bullet">
/// <item>Where the engine can name a reply's source address (Linux), one socket bound to the wildcard address serves
/// both sides: the client's datagrams and the destinations' replies arrive on it and leave from it, replies to the
/// client from the address the client was told. That is one descriptor per association. Otherwise, and when
/// <c>Udp:ListenAddress</c> pins the client side to one address, a client socket and an outbound socket.</item>
/// <item>Client to destination: only the client's datagrams are taken (<see cref="ClientAdmission"/>); the header is
/// read, fragments are reassembled, names are resolved off the datagram path, and the payload goes out unchanged.</item>
/// <item>Destination to client: the payload is received behind room for a header, which is written in front of it
/// naming the sender. Only a destination the client has sent to may answer (<see cref="DestinationTable"/>), and
/// nothing goes to the client before it has sent from its address, so a forged request cannot aim the relay at a
/// third party.</item>
/// <item>A user with a bandwidth limit has each datagram's payload taken from their bucket for its direction; one
/// the bucket cannot cover is dropped (UDP has no back-pressure to apply instead).</item>
/// <item>Every datagram that cannot be relayed is dropped and counted by reason; none is answered.</item>
/// </list>
/// The engine runs all of an association's datagram work on one thread at a time; closing and sweeping may run on
/// any thread and touch only what is safe to.
/// </summary>
internal sealed partial class UdpAssociation : IDisposable
{
    /// <summary>Room in front of every received datagram, so a reply's SOCKS header is written in place.</summary>
    public const int HeaderRoom = Socks5UdpHeader.MaxIPHeaderLength;

    private readonly UdpRelay _relay;
    private readonly ClientAdmission _client;
    private readonly DestinationTable _destinations;
    private readonly byte[]? _replySource;
    private readonly TokenBucket? _upstreamLimit;
    private readonly TokenBucket? _downstreamLimit;
    private readonly long _started;
    private Socket _clientSocket;
    private StrongBox<SharedClientKey>? _sharedKey;
    private object? _engineState;
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
        _client = new ClientAdmission(settings.ClientAddress, settings.ClientPort);
        _upstreamLimit = settings.UserSlot?.Allowance.Upstream;
        _downstreamLimit = settings.UserSlot?.Allowance.Downstream;

        var clientAddress = settings.ClientAddress.Unmap();
        var relayAddress = relay.ListenAddress ?? settings.ControlLocalAddress.Unmap();
        if (relayAddress.AddressFamily != clientAddress.AddressFamily)
        {
            // The client declared an address of the other family than its control connection's. The wildcard address
            // would be announced as the control connection's address, of the wrong family; the route to the client
            // names one of the right family that the client can reach.
            relayAddress = LocalRoute.GetSourceAddress(clientAddress);
        }

        var dualMode = Socket.OSSupportsIPv6;
        if (relay.SharedPort is { } shared)
        {
            // The client side is the shared port's socket for the client's port, known when the port is (until then
            // the association is not on any loop, and the first socket only stands in). Outbound is its own socket,
            // so that each destination's replies come back to exactly this association.
            UsesSharedPort = true;
            _clientSocket = shared.SocketAt(settings.ClientPort == 0 ? 0 : shared.IndexFor(settings.ClientPort));
            OutboundSocket = CreateSocket(dualMode ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
            try
            {
                OutboundSocket.Bind(new IPEndPoint(dualMode ? IPAddress.IPv6Any : IPAddress.Any, 0));
            }
            catch
            {
                OutboundSocket.Dispose();
                throw;
            }

            _replySource = shared.IsWildcard && _clientSocket.AddressFamily == AddressFamily.InterNetworkV6 ? relayAddress.MapToIPv6().GetAddressBytes() : null;
            RelayEndPoint = new IPEndPoint(relay.ListenAddress ?? relayAddress, shared.Port);
        }
        else if (relay.Engine.SetsSourceAddress && relay.ListenAddress is null && dualMode)
        {
            var socket = CreateSocket(AddressFamily.InterNetworkV6);
            try
            {
                PortRangeBinder.Bind(socket, IPAddress.IPv6Any, relay.Options.PortRangeStart, relay.Options.PortRangeEnd);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            _clientSocket = socket;
            OutboundSocket = socket;
            _replySource = relayAddress.MapToIPv6().GetAddressBytes();
            RelayEndPoint = new IPEndPoint(relayAddress, ((IPEndPoint)socket.LocalEndPoint!).Port);
        }
        else
        {
            _clientSocket = CreateSocket(relayAddress.AddressFamily);
            OutboundSocket = CreateSocket(dualMode ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
            try
            {
                PortRangeBinder.Bind(_clientSocket, relayAddress, relay.Options.PortRangeStart, relay.Options.PortRangeEnd);
                OutboundSocket.Bind(new IPEndPoint(dualMode ? IPAddress.IPv6Any : IPAddress.Any, 0));
            }
            catch
            {
                _clientSocket.Dispose();
                OutboundSocket.Dispose();
                throw;
            }

            RelayEndPoint = (IPEndPoint)_clientSocket.LocalEndPoint!;
        }

        _destinations = new DestinationTable(relay.Policy, OutboundSocket.AddressFamily == AddressFamily.InterNetworkV6,
            settings.RuleClient, settings.RuleUser, settings.RuleGroups, id);
    }

    public event Action<UdpAssociation, UdpAssociationEnd>? Closed;

    public long Id { get; }

    public UdpAssociationSettings Settings { get; }

    /// <summary>Where the client sends its datagrams.</summary>
    public IPEndPoint RelayEndPoint { get; }

    /// <summary>The socket the client's datagrams arrive on and its replies leave from.</summary>
    public Socket ClientSocket => Volatile.Read(ref _clientSocket);

    /// <summary>The client side is the shared port (<c>Udp:Mode=Shared</c>): <see cref="ClientSocket"/> is not the association's own.</summary>
    public bool UsesSharedPort { get; }

    /// <summary>On the shared port: the client's address and port once known (declared, or learnt from its first datagram).</summary>
    public SharedClientKey? SharedKey
    {
        get => Volatile.Read(ref _sharedKey)?.Value;
        set => Volatile.Write(ref _sharedKey, value is { } key ? new StrongBox<SharedClientKey>(key) : null);
    }

    /// <summary>Descriptors the association holds: its own sockets.</summary>
    public int Descriptors => SharesOneSocket || UsesSharedPort ? 1 : 2;

    /// <summary>The socket datagrams to destinations leave from and their replies arrive on; <see cref="ClientSocket"/> itself when one serves both.</summary>
    public Socket OutboundSocket { get; }

    /// <summary>One socket serves both sides.</summary>
    public bool SharesOneSocket => ReferenceEquals(ClientSocket, OutboundSocket);

    /// <summary>The engine's own per-association state.</summary>
    public object? EngineState
    {
        get => Volatile.Read(ref _engineState);
        set => Volatile.Write(ref _engineState, value);
    }

    /// <summary>Clears <see cref="EngineState"/> if it is still <paramref name="expected"/>: of two threads detaching, one does.</summary>
    public bool TryClearEngineState(object expected) => ReferenceEquals(Interlocked.CompareExchange(ref _engineState, null, expected), expected);

    /// <summary>For an engine that drains from more than one thread: held around every drain of this association.</summary>
    public Lock Gate { get; } = new();

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public long DatagramsUp => Interlocked.Read(ref _datagramsUp);

    public long BytesUp => Interlocked.Read(ref _bytesUp);

    public long DatagramsDown => Interlocked.Read(ref _datagramsDown);

    public long BytesDown => Interlocked.Read(ref _bytesDown);

    public TimeSpan Age => _relay.TimeProvider.GetElapsedTime(_started);

    /// <summary>The socket a drain of <paramref name="socket"/> sends on.</summary>
    public Socket SendSocketFor(Socket socket) => SharesOneSocket || socket == OutboundSocket ? ClientSocket : OutboundSocket;

    public void Start() => _relay.Engine.Attach(this);

    /// <summary>On the shared port: the client's port is now known, and with it the socket its datagrams arrive on.</summary>
    public void UseSharedSocket(Socket socket) => Volatile.Write(ref _clientSocket, socket);

    public void Close(UdpAssociationEnd reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _relay.SharedPort?.Remove(this);
        _relay.Engine.Detach(this);
        if (!UsesSharedPort)
        {
            ClientSocket.Dispose();
        }

        OutboundSocket.Dispose();
        CloseReassembly();
        ReturnPending(reason == UdpAssociationEnd.Shutdown ? UdpDropReason.SendFailure : UdpDropReason.DnsFailure);
        Settings.UserSlot?.Release();
        _relay.OnClosed(this, reason);
        Closed?.Invoke(this, reason);
    }

    /// <summary>Closes the sockets of an association that never started; nothing was counted for it yet.</summary>
    public void Discard()
    {
        Volatile.Write(ref _closed, 1);
        if (!UsesSharedPort)
        {
            ClientSocket.Dispose();
        }

        OutboundSocket.Dispose();
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

        SweepReassembly(now);
    }

    /// <summary>A socket failed for good (not a closed association).</summary>
    public void OnSocketFailed(SocketError error) => Close(UdpAssociationEnd.SocketError);

    /// <summary>Adds up what a drain relayed into the association's totals and the engine's; once per drain, not per datagram.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Count(in UdpSends sends, UdpTraffic traffic)
    {
        if (sends.Active)
        {
            // Only the association's own traffic keeps it alive: strangers' datagrams must not.
            Volatile.Write(ref _lastActivity, _relay.TimeProvider.GetTimestamp());
        }

        CountSent(sends.Tally, traffic);
    }

    /// <summary>Adds datagrams that went out for this association to its totals and to <paramref name="traffic"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void CountSent(in UdpTally tally, UdpTraffic? traffic)
    {
        if (tally.Datagrams == 0)
        {
            return;
        }

        Interlocked.Add(ref _datagramsUp, tally.UpstreamDatagrams);
        Interlocked.Add(ref _bytesUp, tally.UpstreamBytes);
        Interlocked.Add(ref _datagramsDown, tally.DownstreamDatagrams);
        Interlocked.Add(ref _bytesDown, tally.DownstreamBytes);
        traffic?.Add(tally.UpstreamDatagrams, tally.UpstreamBytes, tally.DownstreamDatagrams, tally.DownstreamBytes);
    }

    private Socket CreateSocket(AddressFamily family) => RelaySockets.Create(family, _relay.Options);
}
