using System.Collections.Concurrent;
using System.Net;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Session;

/// <summary>
/// Decides at accept whether a connection may become a session, before a byte is read: the server's session limit,
/// the descriptor budget, handshakes in progress (all and per client), sessions per client, and new sessions per
/// second per client. An admitted session holds a <see cref="AdmissionTicket"/> that gives everything back.
/// <para>
/// Per-client state lives only while a client has sessions open or a rate still to recover, so the table is as large
/// as the set of clients the budget lets in, not the set that ever connected.
/// </para>
/// </summary>
internal sealed class SessionAdmission : IDisposable
{
    private static readonly TimeSpan _sweepInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<ClientKey, ClientEntry> _clients = new();
    private readonly TimeProvider _timeProvider;
    private readonly ITimer _sweeper;
    private int _sessions;
    private TaskCompletionSource? _noSessions;
    private int _handshakes;

    public SessionAdmission(IOptions<KestrelSocksOptions> options, DescriptorBudget budget, TimeProvider timeProvider)
    {
        var limits = options.Value.Limits;
        Budget = budget;
        _timeProvider = timeProvider;
        MaxSessions = limits.MaxConcurrentSessions;
        MaxHandshakes = limits.MaxHandshakes;
        MaxHandshakesPerClient = limits.MaxHandshakesPerClient;
        MaxSessionsPerClient = limits.MaxSessionsPerClient;
        MaxAssociationsPerClient = options.Value.Udp.MaxAssociationsPerClient;
        Rate = limits.NewSessionsPerClientPerSecond;
        Burst = Rate == 0 ? 0 : limits.NewSessionsPerClientBurst > 0 ? limits.NewSessionsPerClientBurst : 2 * Rate;
        _sweeper = timeProvider.CreateTimer(static state => ((SessionAdmission)state!).Sweep(), this, _sweepInterval, _sweepInterval);
    }

    public DescriptorBudget Budget { get; }

    public int MaxSessions { get; }

    public int MaxHandshakes { get; }

    public int MaxHandshakesPerClient { get; }

    public int MaxSessionsPerClient { get; }

    public int MaxAssociationsPerClient { get; }

    /// <summary>New sessions per second per client; 0 when not limited.</summary>
    public int Rate { get; }

    public int Burst { get; }

    public int ActiveSessions => Volatile.Read(ref _sessions);

    public int ActiveHandshakes => Volatile.Read(ref _handshakes);

    /// <summary>Clients with state kept now.</summary>
    public int TrackedClients => _clients.Count;

    /// <summary>The limit a refusal ran into, for its log line.</summary>
    public int GetLimit(ConnectionRejectReason reason) => reason switch
    {
        ConnectionRejectReason.SessionLimit => MaxSessions,
        ConnectionRejectReason.DescriptorBudget => Budget.Capacity,
        ConnectionRejectReason.HandshakeLimit => MaxHandshakes,
        ConnectionRejectReason.ClientHandshakeLimit => MaxHandshakesPerClient,
        ConnectionRejectReason.ClientSessionLimit => MaxSessionsPerClient,
        ConnectionRejectReason.ClientRateLimit => Rate,
        _ => 0,
    };

    /// <summary>Null when admitted, with the ticket; else why not.</summary>
    /// <remarks>The ticket holds one descriptor for the client's socket until <see cref="AdmissionTicket.ConnectionClosed"/>.</remarks>
    public ConnectionRejectReason? TryAdmit(IPAddress? client, out AdmissionTicket? ticket)
    {
        ticket = null;
        if (Interlocked.Increment(ref _sessions) > MaxSessions)
        {
            Interlocked.Decrement(ref _sessions);
            return ConnectionRejectReason.SessionLimit;
        }

        if (Interlocked.Increment(ref _handshakes) > MaxHandshakes)
        {
            Interlocked.Decrement(ref _handshakes);
            Interlocked.Decrement(ref _sessions);
            return ConnectionRejectReason.HandshakeLimit;
        }

        var result = AdmitClient(ClientKey.From(client), out var entry);
        if (result is not null)
        {
            Interlocked.Decrement(ref _handshakes);
            Interlocked.Decrement(ref _sessions);
            return result;
        }

        // The accepted socket's own descriptor; taken last, so a refusal for any other reason leaves the budget alone.
        if (!Budget.TryTake(1))
        {
            Release(entry!, handshake: true);
            Interlocked.Decrement(ref _handshakes);
            Interlocked.Decrement(ref _sessions);
            return ConnectionRejectReason.DescriptorBudget;
        }

        ticket = new AdmissionTicket(this, entry!);
        return null;
    }

    public void Dispose() => _sweeper.Dispose();

    internal void EndHandshake(ClientEntry entry)
    {
        Interlocked.Decrement(ref _handshakes);
        lock (entry)
        {
            entry.Handshakes--;
        }
    }

    internal void EndSession(ClientEntry entry, bool inHandshake)
    {
        if (inHandshake)
        {
            Interlocked.Decrement(ref _handshakes);
        }

        Release(entry, inHandshake);
        if (Interlocked.Decrement(ref _sessions) == 0 && Volatile.Read(ref _noSessions) is { } waiter)
        {
            waiter.TrySetResult();
        }
    }

    /// <summary>
    /// Completes when no session is open: at once if none is, else when the last one ends. For the drain at shutdown,
    /// which asks once; a session ending costs one read of a field that is null until then.
    /// </summary>
    public Task WhenNoSessionsAsync()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _noSessions, waiter);

        // A session that ended between the write and this read has seen the waiter or is counted here.
        if (ActiveSessions == 0)
        {
            waiter.TrySetResult();
        }

        return waiter.Task;
    }

    internal bool TryAddAssociation(ClientEntry entry)
    {
        lock (entry)
        {
            if (entry.Associations >= MaxAssociationsPerClient)
            {
                return false;
            }

            entry.Associations++;
            return true;
        }
    }

    internal static void RemoveAssociation(ClientEntry entry)
    {
        lock (entry)
        {
            entry.Associations--;
        }
    }

    private ConnectionRejectReason? AdmitClient(ClientKey key, out ClientEntry? admitted)
    {
        var now = _timeProvider.GetTimestamp();
        while (true)
        {
            var entry = _clients.GetOrAdd(key, static (_, now) => new ClientEntry(now), now);
            lock (entry)
            {
                if (entry.Removed)
                {
                    // Swept between the lookup and the lock: a fresh entry takes its place.
                    continue;
                }

                admitted = null;
                if (entry.Handshakes >= MaxHandshakesPerClient)
                {
                    return ConnectionRejectReason.ClientHandshakeLimit;
                }

                if (entry.Sessions >= MaxSessionsPerClient)
                {
                    return ConnectionRejectReason.ClientSessionLimit;
                }

                if (Rate > 0 && !entry.TryTakeToken(now, Rate, Burst, _timeProvider.TimestampFrequency))
                {
                    return ConnectionRejectReason.ClientRateLimit;
                }

                entry.Sessions++;
                entry.Handshakes++;
                admitted = entry;
                return null;
            }
        }
    }

    private static void Release(ClientEntry entry, bool handshake)
    {
        lock (entry)
        {
            entry.Sessions--;
            if (handshake)
            {
                entry.Handshakes--;
            }
        }
    }

    /// <summary>Forgets clients with nothing open whose rate allowance has refilled: they are indistinguishable from new ones.</summary>
    internal void Sweep()
    {
        var now = _timeProvider.GetTimestamp();
        foreach (var (key, entry) in _clients)
        {
            lock (entry)
            {
                if (entry.Sessions > 0 || entry.Associations > 0 || !entry.IsRefilled(now, Rate, Burst, _timeProvider.TimestampFrequency))
                {
                    continue;
                }

                entry.Removed = true;
            }

            _clients.TryRemove(new KeyValuePair<ClientKey, ClientEntry>(key, entry));
        }
    }

    /// <summary>One client's counts. Guarded by its own lock: taken at accept and close, never per byte.</summary>
    internal sealed class ClientEntry
    {
        private double _tokens = double.NaN;
        private long _refilledAt;

        public ClientEntry(long now)
        {
            _refilledAt = now;
        }

        public int Sessions;
        public int Handshakes;
        public int Associations;
        public bool Removed;

        public bool TryTakeToken(long now, int rate, int burst, long frequency)
        {
            Refill(now, rate, burst, frequency);
            if (_tokens < 1)
            {
                return false;
            }

            _tokens--;
            return true;
        }

        public bool IsRefilled(long now, int rate, int burst, long frequency)
        {
            if (rate == 0)
            {
                return true;
            }

            Refill(now, rate, burst, frequency);
            return _tokens >= burst;
        }

        private void Refill(long now, int rate, int burst, long frequency)
        {
            if (double.IsNaN(_tokens))
            {
                _tokens = burst;
            }
            else
            {
                _tokens = Math.Min(burst, _tokens + (now - _refilledAt) * (double)rate / frequency);
            }

            _refilledAt = now;
        }
    }
}
