using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Access;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// The IP destinations an association's client sends to, each checked against the rule set once and kept as the
/// socket address to send to (null when refused), and the set of those it has contacted, which alone may answer
/// (<see cref="IsContacted"/>). The cache of socket addresses is bounded and simply starts over when full; the
/// contacted set is kept apart and bounded on its own, oldest first out, so a client that talks to many destinations
/// does not lose the replies of the ones it talks to now. Used by the association's owner thread only.
/// </summary>
internal sealed class DestinationTable
{
    public const int MaxCached = 4096;
    public const int MaxContacted = 16_384;

    private readonly DestinationPolicy _policy;
    private readonly bool _dualMode;
    private readonly Dictionary<DestinationKey, SocketAddress?> _cache = [];
    private readonly HashSet<DestinationKey> _contacted = [];
    private readonly Queue<DestinationKey> _contactOrder = new();

    public DestinationTable(DestinationPolicy policy, bool dualMode)
    {
        _policy = policy;
        _dualMode = dualMode;
    }

    public int ContactedCount => _contacted.Count;

    /// <summary>The socket address to send to <paramref name="address"/>:<paramref name="port"/>; null when refused. Marks it contacted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public SocketAddress? GetTarget(ReadOnlySpan<byte> address, ushort port)
    {
        var key = DestinationKey.Create(address, port);
        if (_cache.TryGetValue(key, out var target))
        {
            return target;
        }

        var ip = new IPAddress(address);
        if (_policy.IsAllowed(ip) && (_dualMode || ip.AddressFamily == AddressFamily.InterNetwork))
        {
            target = new IPEndPoint(_dualMode ? ip.MapToIPv6() : ip, port).Serialize();
            Contact(key);
        }

        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[key] = target;
        return target;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool IsContacted(ReadOnlySpan<byte> address, ushort port) => _contacted.Contains(DestinationKey.Create(address, port));

    private void Contact(DestinationKey key)
    {
        if (!_contacted.Add(key))
        {
            return;
        }

        _contactOrder.Enqueue(key);
        if (_contactOrder.Count > MaxContacted)
        {
            // The oldest leaves both sets, so a datagram to it again misses the cache and contacts it anew.
            var oldest = _contactOrder.Dequeue();
            _contacted.Remove(oldest);
            _cache.Remove(oldest);
        }
    }
}
