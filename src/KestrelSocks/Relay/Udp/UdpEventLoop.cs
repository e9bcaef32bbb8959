using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Runtime.CompilerServices;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets.Linux;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// A relay loop that owns its associations' sockets: one thread waits on all of them with one epoll_wait, and for
/// each ready socket takes its datagrams with recvmmsg, relays them in place and sends what they produced with one
/// sendmmsg, then moves to the next. Nothing is queued in user space and nothing hops threads: a datagram is relayed
/// by the thread that learnt it had arrived, before that thread waits again. A socket gives way after
/// <see cref="RoundsPerTurn"/> batches, so a busy association cannot hold up the others on the loop.
/// <para>
/// The methods on a datagram's path are marked <see cref="MethodImplOptions.AggressiveOptimization"/>: a loop starts
/// under load, and tiered compilation would run them unoptimized (and instrument them) through its first seconds,
/// which measured as round-trip tails of 20–50 ms and more CPU per datagram until it settled.
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class UdpEventLoop : IDisposable
{
    public const int RoundsPerTurn = 4;
    private const int MaxEvents = 256;

    // An epoll_wait that returns within this had events already pending: the loop did not wait.
    private static readonly long _waitedTicks = Stopwatch.Frequency / 20_000;

    private readonly Epoll _epoll = new(MaxEvents);
    private readonly UdpBatch _batch = new();
    private readonly SocksMetrics _metrics;
    private readonly UdpTraffic _traffic;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly Lock _slotsLock = new();
    private readonly Stack<int> _freeSlots = new();
    private readonly ConcurrentQueue<UdpAssociation> _scheduled = new();
    private UdpAssociation?[] _slots = new UdpAssociation?[64];
    private int _nextSlot;
    private int _attached;
    private int _wakePending;
    private readonly int _index;
    private readonly long _maxQueueDelay;
    private readonly long _busyBeforeStamping;
    private int _stamping;
    private volatile bool _stopping;

    /// <param name="index">The loop's number, in its thread's name and its log lines.</param>
    /// <param name="maxQueueDelay">Datagrams that waited longer in their socket's queue are dropped; zero keeps them all.</param>
    /// <param name="metrics">Where drops are counted; the loop's relayed datagrams are totals of its own there.</param>
    /// <param name="logger">For the loop's own failures.</param>
    /// <param name="shared">The shared UDP port, whose socket <paramref name="index"/> this loop drains; null in per-association mode.</param>
    public UdpEventLoop(int index, TimeSpan maxQueueDelay, SocksMetrics metrics, ILogger logger, SharedUdpPort? shared = null)
    {
        _index = index;
        _maxQueueDelay = (long)maxQueueDelay.TotalNanoseconds;
        _busyBeforeStamping = (long)(maxQueueDelay.TotalSeconds / 4 * Stopwatch.Frequency);
        _metrics = metrics;
        _traffic = metrics.CreateUdpTraffic();
        _batch.OwnersTraffic = _traffic;
        _logger = logger;
        if (shared is not null && index < shared.SocketCount)
        {
            _shared = shared;
            _sharedSocket = shared.SocketAt(index);
            Register(_sharedSocket, SharedData);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"UDP relay {index}" };
        _thread.UnsafeStart();
    }

    public int Attached => Volatile.Read(ref _attached);

    public void Attach(UdpAssociation association)
    {
        int slot;
        lock (_slotsLock)
        {
            if (!_freeSlots.TryPop(out slot))
            {
                slot = _nextSlot++;
                if (slot == _slots.Length)
                {
                    // The loop may be reading the old array: it gets a new one, never a resized one.
                    var grown = new UdpAssociation?[_slots.Length * 2];
                    Array.Copy(_slots, grown, _slots.Length);
                    Volatile.Write(ref _slots, grown);
                }
            }

            Volatile.Write(ref _slots[slot], association);
        }

        association.EngineState = new LoopSlot(this, slot);
        Interlocked.Increment(ref _attached);
        try
        {
            // Readiness data: the slot, and which of the association's sockets (0 client, 1 outbound). A shared
            // port's socket is the loop's own, registered once.
            if (!association.UsesSharedPort)
            {
                Register(association.ClientSocket, (ulong)slot << 1);
            }

            if (!association.SharesOneSocket)
            {
                Register(association.OutboundSocket, ((ulong)slot << 1) | 1);
            }
        }
        catch
        {
            Detach(association);
            throw;
        }
    }

    public void Detach(UdpAssociation association)
    {
        if (association.EngineState is not LoopSlot { Loop: var loop, Slot: var slot } state || loop != this || !association.TryClearEngineState(state))
        {
            return;
        }

        if (!association.UsesSharedPort)
        {
            Unregister(association.ClientSocket);
        }

        if (!association.SharesOneSocket)
        {
            Unregister(association.OutboundSocket);
        }

        lock (_slotsLock)
        {
            // An event for this slot may already be in hand; if the slot is reused meanwhile, the new association
            // sees one spurious readiness, and its receive finds nothing.
            Volatile.Write(ref _slots[slot], null);
            _freeSlots.Push(slot);
        }

        Interlocked.Decrement(ref _attached);
    }

    public void Schedule(UdpAssociation association)
    {
        _scheduled.Enqueue(association);
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _epoll.Wake();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _epoll.Wake();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }

        if (!_thread.IsAlive)
        {
            _epoll.Dispose();
            _batch.Dispose();
        }
    }

    /// <summary>Whether this loop's sockets have their datagrams' arrival stamped (see <see cref="NoteWait"/>).</summary>
    private bool Stamping => Volatile.Read(ref _stamping) != 0;

    private void Register(Socket socket, ulong data)
    {
        // The slot was written before: either this sees the loop stamping, or the loop's pass over the slots sees the socket.
        Interlocked.MemoryBarrier();
        if (Stamping)
        {
            UdpBatch.StampArrivals(socket);
        }

        using var lease = new DescriptorLease(socket.SafeHandle);
        _epoll.Add(lease.Descriptor, data);
    }

    private void Unregister(Socket socket)
    {
        try
        {
            using var lease = new DescriptorLease(socket.SafeHandle);
            _epoll.Remove(lease.Descriptor);
        }
        catch (ObjectDisposedException)
        {
            // Already closed: the kernel has dropped the registration with the descriptor.
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run()
    {
        long busySince = 0;
        while (!_stopping)
        {
            int ready;
            try
            {
                var before = Stopwatch.GetTimestamp();
                ready = _epoll.Wait(-1);
                busySince = NoteWait(before, ready, busySince);
            }
            catch (SocketException e)
            {
                SocksLog.UdpLoopFailed(_logger, e);
                Thread.Sleep(10);
                continue;
            }

            var wake = false;
            var slots = Volatile.Read(ref _slots);
            var now = _stamping != 0 ? UdpBatch.Now() : 0;
            var sharedBacklog = false;
            var sinceShared = 0;
            for (var i = 0; i < ready; i++)
            {
                var data = _epoll.DataAt(i);
                if (data == Epoll.WakeData)
                {
                    wake = true;
                    continue;
                }

                if (data == SharedData)
                {
                    FlushReplies();
                    sharedBacklog = DrainShared(now);
                    sinceShared = 0;
                    continue;
                }

                if (sharedBacklog && ++sinceShared == SharedTurnEvery)
                {
                    // The shared socket stands for all the loop's clients: a share of the pass in proportion.
                    FlushReplies();
                    sharedBacklog = DrainShared(now);
                    sinceShared = 0;
                }

                var slot = (int)(data >> 1);
                if (slot >= slots.Length || Volatile.Read(ref slots[slot]) is not { IsClosed: false } association)
                {
                    continue;
                }

                if ((data & 1) != 0 && RepliesLeaveShared(association))
                {
                    DrainReplies(association, now);
                    continue;
                }

                FlushReplies();
                Drain(association, (data & 1) == 0 ? association.ClientSocket : association.OutboundSocket, _batch, _metrics, _traffic, _logger, _maxQueueDelay, now);
            }

            // Before the loop waits again: replies queued for the shared-port socket go out now.
            FlushReplies();
            if (wake)
            {
                _epoll.ResetWake();
                RunScheduled();
            }
        }
    }

    /// <summary>
    /// Stamping every datagram's arrival costs the kernel about a tenth of a relay's work, so it waits until it can
    /// matter: a loop that has not once had to wait for readiness (each epoll_wait returned at once, or returned as
    /// many events as it takes) for a quarter of <c>Udp:MaxQueueDelay</c> is behind,
    /// and datagrams may start to grow stale in its sockets. From then on its sockets, and the ones placed on it
    /// later, are stamped, and stale datagrams are shed. Returns when the loop's current busy spell began (0: it just
    /// waited).
    /// </summary>
    private long NoteWait(long before, int ready, long busySince)
    {
        if (_maxQueueDelay == 0 || _stamping != 0)
        {
            return 0;
        }

        var after = Stopwatch.GetTimestamp();
        busySince = BusySpell(ready == MaxEvents ? after : before, after, busySince, _waitedTicks);
        if (busySince != 0 && after - busySince > _busyBeforeStamping)
        {
            SocksLog.UdpLoopBehind(_logger, _index, (long)Stopwatch.GetElapsedTime(busySince, after).TotalMilliseconds, _maxQueueDelay / 1_000_000);
            StartStamping();
            return 0;
        }

        return busySince;
    }

    /// <summary>
    /// Where the loop's busy spell began, after an epoll_wait from <paramref name="before"/> to <paramref name="after"/>
    /// (timestamps): 0 when the call waited longer than <paramref name="waitedTicks"/>, else the spell's old start, or
    /// <paramref name="after"/> when this is its first pass.
    /// </summary>
    internal static long BusySpell(long before, long after, long busySince, long waitedTicks) =>
        after - before > waitedTicks ? 0 : busySince == 0 ? after : busySince;

    private void StartStamping()
    {
        Interlocked.Exchange(ref _stamping, 1);
        if (_sharedSocket is not null)
        {
            UdpBatch.StampArrivals(_sharedSocket);
        }

        foreach (var association in Volatile.Read(ref _slots))
        {
            if (association is null)
            {
                continue;
            }

            try
            {
                if (!association.UsesSharedPort)
                {
                    UdpBatch.StampArrivals(association.ClientSocket);
                }

                if (!association.SharesOneSocket)
                {
                    UdpBatch.StampArrivals(association.OutboundSocket);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // Closed meanwhile.
            }
        }
    }

    /// <summary>
    /// One turn of <paramref name="socket"/>: up to <see cref="RoundsPerTurn"/> batches received, relayed in place and
    /// flushed. Runs on the loop's thread (or a benchmark's), which owns <paramref name="batch"/>. A datagram stamped
    /// more than <paramref name="maxQueueDelay"/> nanoseconds before <paramref name="now"/> (see <see cref="UdpBatch.Now"/>)
    /// is dropped unrelayed; zero relays every one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Drain(UdpAssociation association, Socket socket, UdpBatch batch, SocksMetrics metrics, UdpTraffic traffic, ILogger logger,
        long maxQueueDelay = 0, long now = 0)
    {
        var sendSocket = association.SendSocketFor(socket);
        var sends = new UdpSends(batch);
        var stale = 0;
        try
        {
            for (var round = 0; round < RoundsPerTurn; round++)
            {
                int received;
                try
                {
                    received = batch.Receive(socket, UdpAssociation.HeaderRoom);
                }
                catch (SocketException e) when (UdpErrors.IsTransient(e.SocketErrorCode))
                {
                    // An ICMP error from an earlier send surfaced here: the socket itself is fine.
                    continue;
                }

                for (var i = 0; i < received; i++)
                {
                    if (RelayableLength(batch, i, metrics, maxQueueDelay, now, ref stale) is not (>= 0 and var length))
                    {
                        continue;
                    }

                    association.OnDatagram(socket, batch.Slot(i), length, batch.SourceName(i), ref sends);
                }

                sends.Flush(sendSocket, metrics);
                if (received < UdpBatch.Slots)
                {
                    break;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile, from another thread.
            sends.Clear();
        }
        catch (SocketException e)
        {
            sends.Clear();
            association.OnSocketFailed(e.SocketErrorCode);
        }
        catch (Exception e)
        {
            sends.Clear();
            SocksLog.UdpLoopFailed(logger, e);
        }
        finally
        {
            association.Count(sends, traffic);
            metrics.UdpDropped(UdpDropReason.QueueDelay, stale);
        }
    }

    /// <summary>
    /// The length of received datagram <paramref name="index"/>, or -1 when it is not to be relayed: cut short by its
    /// slot (dropped and counted as too large) or stale (added to <paramref name="stale"/>, counted once per drain).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RelayableLength(UdpBatch batch, int index, SocksMetrics metrics, long maxQueueDelay, long now, ref int stale)
    {
        var length = batch.Length(index);
        if (length < 0)
        {
            metrics.UdpDropped(UdpDropReason.TooLarge);
            return -1;
        }

        if (maxQueueDelay > 0 && batch.ArrivedAt(index) is var arrived and > 0 && now - arrived > maxQueueDelay)
        {
            // Relaying it now would deliver it too late to be of use, and delay the datagrams behind it.
            stale++;
            return -1;
        }

        return length;
    }

    private void RunScheduled()
    {
        Volatile.Write(ref _wakePending, 0);
        while (_scheduled.TryDequeue(out var association))
        {
            var sends = new UdpSends(_batch);
            try
            {
                association.RunScheduled(ref sends);
                sends.Flush(association.OutboundSocket, _metrics);
            }
            catch (ObjectDisposedException)
            {
                sends.Clear();
            }
            catch (Exception e)
            {
                // An exception that left this thread would end the process; one association's must not.
                sends.Clear();
                SocksLog.UdpLoopFailed(_logger, e);
            }
            finally
            {
                association.Count(sends, _traffic);
            }
        }
    }

    /// <summary>The loop an attached association sits on, or null.</summary>
    public static UdpEventLoop? OwnerOf(UdpAssociation association) => (association.EngineState as LoopSlot)?.Loop;

    /// <summary>Where an attached association sits.</summary>
    private sealed record LoopSlot(UdpEventLoop Loop, int Slot);
}
