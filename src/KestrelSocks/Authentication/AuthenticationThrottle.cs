using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using KestrelSocks.Sockets;

namespace KestrelSocks.Authentication;

/// <summary>
/// Failed authentications per client address (an IPv6 client by its /64, which one host typically holds whole). The
/// first <see cref="AuthenticationOptions.FailuresBeforeDelay"/> failures cost nothing extra; from then on every
/// attempt from the address waits a delay that doubles per failure up to a cap, and attempts in parallel queue behind
/// each other, so more connections buy a guesser no more tries. At <see cref="AuthenticationOptions.FailuresBeforeBlock"/>
/// the address is refused outright for <see cref="AuthenticationOptions.BlockDuration"/>; after that it starts again
/// as a delayed address. A success clears its record. The table holds at most
/// <see cref="AuthenticationOptions.MaxTrackedClients"/> addresses, the least recently failed going first.
/// </summary>
internal sealed class AuthenticationThrottle
{
    private readonly TimeProvider _timeProvider;
    private readonly int _failuresBeforeDelay;
    private readonly int _failuresBeforeBlock;
    private readonly TimeSpan _failureDelay;
    private readonly TimeSpan _maxFailureDelay;
    private readonly TimeSpan _blockDuration;
    private readonly TimeSpan _failureWindow;
    private readonly int _maxTracked;
    private readonly Lock _lock = new();
    private readonly Dictionary<ClientKey, LinkedListNode<Entry>> _entries = [];

    // Least recently failed first.
    private readonly LinkedList<Entry> _order = new();

    public AuthenticationThrottle(AuthenticationOptions options, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _failuresBeforeDelay = options.FailuresBeforeDelay;
        _failuresBeforeBlock = options.FailuresBeforeBlock;
        _failureDelay = options.FailureDelay;
        _maxFailureDelay = options.MaxFailureDelay;
        _blockDuration = options.BlockDuration;
        _failureWindow = options.FailureWindow;
        _maxTracked = options.MaxTrackedClients;
    }

    public TimeSpan BlockDuration => _blockDuration;

    /// <summary>Addresses with a record now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>
    /// Decides an attempt from <paramref name="client"/>. A <see cref="ThrottleVerdict.Delay"/> reserves the attempt's
    /// turn: <paramref name="wait"/> includes the turns of attempts from the same address already waiting.
    /// </summary>
    public ThrottleVerdict Admit(IPAddress client, out TimeSpan wait)
    {
        wait = TimeSpan.Zero;
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (!TryGetCurrent(GetKey(client), now, out var entry))
            {
                return ThrottleVerdict.Proceed;
            }

            if (entry.BlockedUntil > now)
            {
                return ThrottleVerdict.Blocked;
            }

            if (entry.Failures < _failuresBeforeDelay)
            {
                return ThrottleVerdict.Proceed;
            }

            var turn = (entry.NextTurn > now ? entry.NextTurn : now) + GetDelay(entry.Failures);
            entry.NextTurn = turn;
            wait = turn - now;
            return ThrottleVerdict.Delay;
        }
    }

    /// <summary>Whether <paramref name="client"/> is blocked now: a delayed attempt asks again before its check.</summary>
    public bool IsBlocked(IPAddress client)
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            return TryGetCurrent(GetKey(client), now, out var entry) && entry.BlockedUntil > now;
        }
    }

    /// <summary>Counts a failure; true when it starts a block. <paramref name="failures"/> is the address's count.</summary>
    public bool RecordFailure(IPAddress client, out int failures)
    {
        var now = _timeProvider.GetUtcNow();
        var key = GetKey(client);
        lock (_lock)
        {
            ForgetOldest(now);
            if (!TryGetCurrent(key, now, out var entry))
            {
                if (_entries.Count >= _maxTracked)
                {
                    Remove(_order.First!);
                }

                entry = new Entry(key);
                _entries.Add(key, _order.AddLast(entry));
            }
            else
            {
                var node = _entries[key];
                _order.Remove(node);
                _order.AddLast(node);
            }

            entry.Failures++;
            entry.LastFailure = now;
            failures = entry.Failures;
            if (entry.Failures >= _failuresBeforeBlock && entry.BlockedUntil <= now)
            {
                entry.BlockedUntil = now + _blockDuration;
                return true;
            }

            return false;
        }
    }

    /// <summary>A success from <paramref name="client"/> clears its record.</summary>
    public void RecordSuccess(IPAddress client)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(GetKey(client), out var node))
            {
                Remove(node);
            }
        }
    }

    /// <summary>The address as the throttle counts it: IPv4 (also IPv4-mapped IPv6) whole, other IPv6 by its /64.</summary>
    internal static ClientKey GetKey(IPAddress address) => ClientKey.From(address);

    /// <summary>The address as logged for a block: the IPv4 address, or the IPv6 /64 the block covers.</summary>
    internal static string Describe(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return address.ToString();
        }

        return new IPNetwork(address, 64).ToString();
    }

    private TimeSpan GetDelay(int failures)
    {
        var doublings = failures - _failuresBeforeDelay;
        if (doublings >= 30)
        {
            return _maxFailureDelay;
        }

        var delay = _failureDelay * (1L << doublings);
        return delay < _maxFailureDelay ? delay : _maxFailureDelay;
    }

    private bool TryGetCurrent(ClientKey key, DateTimeOffset now, out Entry entry)
    {
        if (!_entries.TryGetValue(key, out var node))
        {
            entry = null!;
            return false;
        }

        entry = node.Value;
        if (entry.BlockedUntil != default && entry.BlockedUntil <= now)
        {
            // The block is over: the address goes on as a delayed one, its window starting afresh.
            entry.BlockedUntil = default;
            entry.Failures = Math.Min(entry.Failures, _failuresBeforeDelay);
            entry.LastFailure = now;
        }

        if (IsStale(entry, now))
        {
            Remove(node);
            return false;
        }

        return true;
    }

    private bool IsStale(Entry entry, DateTimeOffset now) => entry.BlockedUntil <= now && now - entry.LastFailure >= _failureWindow;

    private void ForgetOldest(DateTimeOffset now)
    {
        // Stale records go as failures come in, a few at a time, so an idle table shrinks without a timer.
        for (var i = 0; i < 2 && _order.First is { } oldest && IsStale(oldest.Value, now); i++)
        {
            Remove(oldest);
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _entries.Remove(node.Value.Key);
        _order.Remove(node);
    }

    private sealed class Entry
    {
        public Entry(ClientKey key)
        {
            Key = key;
        }

        public ClientKey Key { get; }

        public int Failures { get; set; }

        public DateTimeOffset LastFailure { get; set; }

        public DateTimeOffset BlockedUntil { get; set; }

        public DateTimeOffset NextTurn { get; set; }
    }
}
