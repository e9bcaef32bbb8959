using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Access;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// The IP destinations an association's client sends to, each checked against the rule set once and kept as the
/// socket address to send to (null when refused, with the rule that refused it), and the set of those it has
/// contacted, which alone may answer (<see cref="IsContacted"/>). The cache of socket addresses is bounded and simply
/// starts over when full; the contacted set is kept apart and bounded on its own, oldest first out, so a client that
/// talks to many destinations does not lose the replies of the ones it talks to now. A reload of the rules empties
/// both: every destination is checked again, and answers again only once the client has sent to it under the new
/// rules. Used by the association's owner thread only.
/// </summary>
internal sealed class DestinationTable
{
    public const int MaxCached = 4096;
    public const int MaxContacted = 16_384;

    private readonly AccessPolicy _policy;
    private readonly bool _dualMode;
    private readonly UInt128? _client;
    private readonly string? _user;
    private readonly string[] _groups;
    private readonly long _associationId;
    private readonly Dictionary<DestinationKey, Verdict> _cache = [];
    private readonly Dictionary<DestinationKey, SocketAddress> _namedTargets = [];
    private readonly HashSet<DestinationKey> _contacted = [];
    private readonly Queue<DestinationKey> _contactOrder = new();
    private RuleSet _rules;

    /// <param name="client">The control connection's client address, user and groups: who the rules see for every datagram.</param>
    public DestinationTable(AccessPolicy policy, bool dualMode, IPAddress? client = null, string? user = null, string[]? groups = null, long associationId = 0)
    {
        _policy = policy;
        _dualMode = dualMode;
        _client = client is null ? null : AddressKey.From(client);
        _user = user;
        _groups = groups ?? [];
        _associationId = associationId;
        _rules = policy.Rules;
    }

    public int ContactedCount => _contacted.Count;

    /// <summary>
    /// Before resolving a datagram's destination name: false, with the refusing rule, when the rules refuse every address
    /// <paramref name="domain"/>:<paramref name="port"/> could resolve to, so a refused name is never looked up.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool AllowsName(ReadOnlySpan<byte> domain, ushort port, out string? deniedBy)
    {
        var verdict = CurrentRules().EvaluateRequest(CreateRequest(domain, port));
        deniedBy = verdict.IsAllowed ? null : verdict.Rule;
        return verdict.IsAllowed;
    }

    /// <summary>
    /// The socket address to send to <paramref name="address"/>:<paramref name="port"/>, reached by the name
    /// <paramref name="domain"/> (empty when the client sent an address); null when refused, with the refusing rule in
    /// <paramref name="deniedBy"/> (null when this socket cannot reach the address's family). Marks it contacted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public SocketAddress? GetTarget(ReadOnlySpan<byte> address, ushort port, ReadOnlySpan<byte> domain, out string? deniedBy)
    {
        var rules = CurrentRules();
        var key = DestinationKey.Create(address, port);
        if (!domain.IsEmpty && rules.DependsOnDomain)
        {
            // The verdict depends on the name as well, which the cache's key does not hold: decided anew each time,
            // allocation-free; only the socket address is kept.
            return GetNamedTarget(rules, key, address, port, domain, out deniedBy);
        }

        if (_cache.TryGetValue(key, out var cached))
        {
            deniedBy = cached.DeniedBy;
            return cached.Target;
        }

        SocketAddress? target = null;
        deniedBy = null;
        var ip = new IPAddress(address);
        if (_dualMode || ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var verdict = rules.EvaluateAddress(CreateRequest(default, port), key.Address);
            if (verdict.IsAllowed)
            {
                target = new IPEndPoint(_dualMode ? ip.MapToIPv6() : ip, port).Serialize();
                Contact(key);
            }
            else
            {
                deniedBy = verdict.Rule;
                _policy.DestinationDenied(_associationId, ip, port, verdict.Rule);
            }
        }

        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[key] = new Verdict(target, deniedBy);
        return target;
    }

    /// <summary>Without a name: the same as <see cref="GetTarget(ReadOnlySpan{byte}, ushort, ReadOnlySpan{byte}, out string?)"/> for a datagram sent to an address.</summary>
    public SocketAddress? GetTarget(ReadOnlySpan<byte> address, ushort port) => GetTarget(address, port, default, out _);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool IsContacted(ReadOnlySpan<byte> address, ushort port) => _contacted.Contains(DestinationKey.Create(address, port));

    private SocketAddress? GetNamedTarget(RuleSet rules, DestinationKey key, ReadOnlySpan<byte> address, ushort port, ReadOnlySpan<byte> domain, out string? deniedBy)
    {
        deniedBy = null;
        if (!_dualMode && address.Length != 4)
        {
            return null;
        }

        var verdict = rules.EvaluateAddress(CreateRequest(domain, port), key.Address);
        if (!verdict.IsAllowed)
        {
            deniedBy = verdict.Rule;
            return null;
        }

        if (!_namedTargets.TryGetValue(key, out var target))
        {
            var ip = new IPAddress(address);
            target = new IPEndPoint(_dualMode ? ip.MapToIPv6() : ip, port).Serialize();
            if (_namedTargets.Count >= MaxCached)
            {
                _namedTargets.Clear();
            }

            _namedTargets[key] = target;
        }

        Contact(key);
        return target;
    }

    private AccessRequest CreateRequest(ReadOnlySpan<byte> domain, ushort port) =>
        new(AccessCommand.Udp, _client, _user, _groups, AccessDestination.Known, domain, port);

    /// <summary>The rules in force; when they are not those the cache was filled under, the cache starts over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RuleSet CurrentRules()
    {
        var rules = _policy.Rules;
        if (!ReferenceEquals(rules, _rules))
        {
            _rules = rules;
            _cache.Clear();
            _namedTargets.Clear();
            _contacted.Clear();
            _contactOrder.Clear();
        }

        return rules;
    }

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
            _namedTargets.Remove(oldest);
        }
    }

    private readonly record struct Verdict(SocketAddress? Target, string? DeniedBy);
}
