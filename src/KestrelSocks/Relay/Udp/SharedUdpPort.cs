using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using KestrelSocks.Configuration;
using KestrelSocks.Sockets.Linux;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// <c>Udp:Mode=Shared</c>: the one port every association's client sends to, and who each datagram on it is from.
/// <list type="bullet">
/// <item>One socket per relay loop, all bound to the port with SO_REUSEPORT and steered by the client's source port
/// (<see cref="ReusePortSteering"/>), so each client's datagrams always reach the same loop, and its association
/// sits on that loop: nothing hops threads.</item>
/// <item>A client that declared its port is known from the start. One that did not (DST.PORT 0) waits: the first
/// datagram from its IP that no known client sent is taken as its own, oldest waiting association first. The
/// datagrams themselves carry nothing else to tell associations apart, so clients behind one address that do not
/// declare their ports are told apart by the order in which they first send.</item>
/// <item>A datagram from any other source is dropped and counted; nothing is ever sent to an unknown source.</item>
/// </list>
/// </summary>
internal sealed class SharedUdpPort : IDisposable
{
    private readonly Socket[] _sockets;
    private readonly ConcurrentDictionary<SharedClientKey, UdpAssociation> _clients = new();
    private readonly ConcurrentDictionary<SharedClientKey, WaitingClients> _waiting = new();

    private SharedUdpPort(Socket[] sockets, IPAddress? listenAddress, int receiveBufferSize)
    {
        _sockets = sockets;
        ReceiveBufferSize = receiveBufferSize;
        Port = ((IPEndPoint)sockets[0].LocalEndPoint!).Port;
        IsWildcard = listenAddress is null;
    }

    /// <summary>The port bound (the configured one, or the one the system picked for 0).</summary>
    public int Port { get; }

    /// <summary>Bound to the wildcard address: replies name the address they leave from.</summary>
    public bool IsWildcard { get; }

    public int SocketCount => _sockets.Length;

    /// <summary>The receive buffer each socket was granted (the smallest, as set, not as Linux reports it).</summary>
    public int ReceiveBufferSize { get; }

    /// <summary>Clients known by address and port now (declared or learnt).</summary>
    public int KnownClients => _clients.Count;

    /// <summary>The socket loop <paramref name="index"/> drains.</summary>
    public Socket SocketAt(int index) => _sockets[index];

    /// <summary>The index of the socket, and loop, a client sending from <paramref name="port"/> is steered to: the rule <see cref="Sockets.Linux.ReusePortSteering"/> gives the kernel.</summary>
    public int IndexFor(int port) => port % _sockets.Length;

    /// <summary>
    /// Binds <paramref name="count"/> sockets to the shared port. Falls back to one socket (and so one loop for every
    /// shared-port association) where the kernel cannot steer a group; <paramref name="steeringFailure"/> says why.
    /// Throws <see cref="SocketException"/> when the port cannot be bound.
    /// </summary>
    [SupportedOSPlatform("linux")]
    public static SharedUdpPort Bind(UdpOptions options, IPAddress? listenAddress, int count, out SocketException? steeringFailure)
    {
        steeringFailure = null;
        var family = listenAddress?.AddressFamily ?? (Socket.OSSupportsIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork);
        var address = listenAddress ?? (family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any);
        var sockets = new List<Socket>(count);
        var granted = int.MaxValue;
        try
        {
            var port = options.SharedPort;
            for (var i = 0; i < count; i++)
            {
                var socket = RelaySockets.Create(family, options);
                sockets.Add(socket);

                // One socket queues the datagrams of every client on its loop: room for a loop that falls behind.
                granted = Math.Min(granted, RelaySockets.SetLargeReceiveBuffer(socket, options.SharedSocketReceiveBufferSize));
                if (count > 1)
                {
                    ReusePortSteering.AllowReuse(socket);
                }

                socket.Bind(new IPEndPoint(address, port));
                port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            }

            if (count > 1)
            {
                try
                {
                    ReusePortSteering.Attach(sockets[0], count);
                }
                catch (SocketException e)
                {
                    steeringFailure = e;
                    foreach (var extra in sockets.Skip(1))
                    {
                        extra.Dispose();
                    }

                    sockets.RemoveRange(1, sockets.Count - 1);
                }
            }

            return new SharedUdpPort([.. sockets], listenAddress, granted);
        }
        catch
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Makes <paramref name="association"/>'s client known, or has it wait for its port. False when another open
    /// association already holds the client's declared address and port: datagrams from it could not be told apart.
    /// </summary>
    public bool TryAdd(UdpAssociation association)
    {
        var key = SharedClientKey.From(association.Settings.ClientAddress, association.Settings.ClientPort);
        if (key.Port != 0)
        {
            if (!_clients.TryAdd(key, association))
            {
                return false;
            }

            association.SharedKey = key;
            return true;
        }

        var waiting = _waiting.GetOrAdd(key, static _ => new WaitingClients());
        lock (waiting)
        {
            waiting.Add(association);
        }

        return true;
    }

    /// <summary>Forgets a closed association.</summary>
    public void Remove(UdpAssociation association)
    {
        if (association.SharedKey is { } key)
        {
            _clients.TryRemove(new KeyValuePair<SharedClientKey, UdpAssociation>(key, association));
            return;
        }

        var address = SharedClientKey.From(association.Settings.ClientAddress, 0);
        if (_waiting.TryGetValue(address, out var waiting))
        {
            lock (waiting)
            {
                waiting.Remove(association);
            }
        }
    }

    /// <summary>The association of the client a datagram came from, or null. Lock-free: once per datagram at most.</summary>
    public UdpAssociation? Find(in SharedClientKey key) => _clients.TryGetValue(key, out var association) ? association : null;

    /// <summary>
    /// A datagram from <paramref name="key"/>, which no association knows: the oldest association waiting for a port
    /// at that address takes it, and from now on is found by <see cref="Find"/>; null when none waits. Runs on the
    /// loop the client's datagrams arrive on, which is the only one that ever sees this key.
    /// </summary>
    public UdpAssociation? Learn(in SharedClientKey key)
    {
        if (!_waiting.TryGetValue(key.AddressOnly, out var waiting))
        {
            return null;
        }

        UdpAssociation? association;
        lock (waiting)
        {
            association = waiting.TakeOldest();
        }

        if (association is null)
        {
            return null;
        }

        association.SharedKey = key;
        _clients[key] = association;

        // Closed while it was being learnt: its Remove may have looked before the key was set.
        if (association.IsClosed)
        {
            _clients.TryRemove(new KeyValuePair<SharedClientKey, UdpAssociation>(key, association));
            return null;
        }

        return association;
    }

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }

    /// <summary>Associations of one client IP waiting for their ports, oldest first. Guarded by its own lock.</summary>
    private sealed class WaitingClients
    {
        private readonly LinkedList<UdpAssociation> _associations = new();

        public void Add(UdpAssociation association) => _associations.AddLast(association);

        public void Remove(UdpAssociation association) => _associations.Remove(association);

        public UdpAssociation? TakeOldest()
        {
            while (_associations.First is { } first)
            {
                _associations.RemoveFirst();
                if (!first.Value.IsClosed)
                {
                    return first.Value;
                }
            }

            return null;
        }
    }
}
