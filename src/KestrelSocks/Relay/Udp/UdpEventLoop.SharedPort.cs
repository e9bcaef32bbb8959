using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets.Linux;

namespace KestrelSocks.Relay.Udp;

internal sealed partial class UdpEventLoop
{
    /// <summary>The readiness data of the loop's shared-port socket; slots' data are far below it.</summary>
    private const ulong SharedData = Epoll.WakeData - 1;

    /// <summary>
    /// While the shared-port socket has a backlog, it gets another turn after every this many other sockets' turns in
    /// one pass over the ready sockets. It carries every client of the loop where a per-association socket carries one,
    /// and with one turn per pass (at most <see cref="RoundsPerTurn"/> batches) behind up to 255 outbound sockets' turns
    /// it took in fewer datagrams than its clients sent once the loop was busy: at 1,000 associations and 25,000
    /// datagrams/s per loop it fell behind until its datagrams were shed as stale, where per-association sockets,
    /// each with a turn of its own, kept up.
    /// </summary>
    private const int SharedTurnEvery = 16;

    private readonly SharedUdpPort? _shared;
    private readonly Socket? _sharedSocket;

    /// <summary>
    /// Slots of the batch that <see cref="DrainReplies"/> has received into since the last <see cref="FlushReplies"/>:
    /// the next turn receives after them. Not the number queued, which is lower when some were dropped.
    /// </summary>
    private int _replySlotsUsed;

    /// <summary>
    /// One turn of the loop's shared-port socket: each batch holds datagrams from any of the loop's clients. Each is
    /// handed to its client's association (found by source address and port, or learnt), and what consecutive
    /// datagrams of one association produce goes out in one sendmmsg on its outbound socket. A datagram whose source
    /// is no association's client is dropped and counted. Returns whether datagrams are likely still waiting (every
    /// batch of the turn came back full): the loop then gives the socket more turns within the same pass
    /// (<see cref="SharedTurnEvery"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool DrainShared(long now)
    {
        var socket = _sharedSocket!;
        var family = socket.AddressFamily;
        var batch = _batch;
        var sends = new UdpSends(batch);
        UdpAssociation? current = null;
        SharedClientKey currentKey = default;
        var stale = 0;
        for (var round = 0; round < RoundsPerTurn; round++)
        {
            int received;
            try
            {
                received = batch.Receive(socket, UdpAssociation.HeaderRoom);
            }
            catch (SocketException e) when (UdpErrors.IsTransient(e.SocketErrorCode))
            {
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The shared socket is the relay's, not an association's: it closes only at shutdown.
                if (!_stopping)
                {
                    SocksLog.UdpLoopFailed(_logger, e);
                }

                return false;
            }

            for (var i = 0; i < received; i++)
            {
                if (RelayableLength(batch, i, _metrics, _maxQueueDelay, now, ref stale) is not (>= 0 and var length))
                {
                    continue;
                }

                var source = batch.SourceName(i);
                var key = SharedClientKey.From(family, source);
                if (current is null || !key.Equals(currentKey))
                {
                    var association = _shared!.Find(key) ?? Learn(key);
                    if (association is null || association.ClientSocket != socket)
                    {
                        // A stranger, or a client steered to another loop than its association's (an IPv4 header
                        // with options): on this thread the association may not be touched.
                        _metrics.UdpDropped(UdpDropReason.WrongSource);
                        continue;
                    }

                    if (association != current)
                    {
                        FinishShared(current, ref sends);
                        current = association;
                        sends = new UdpSends(batch);
                    }

                    currentKey = key;
                }

                try
                {
                    current.OnDatagram(socket, batch.Slot(i), length, source, ref sends);
                }
                catch (ObjectDisposedException)
                {
                    // Its outbound socket closed meanwhile, from another thread.
                    sends.Clear();
                }
            }

            // The next batch is received into the same slots: what this one produced goes out first.
            FinishShared(current, ref sends);
            current = null;
            sends = new UdpSends(batch);
            if (received < UdpBatch.Slots)
            {
                _metrics.UdpDropped(UdpDropReason.QueueDelay, stale);
                return false;
            }
        }

        _metrics.UdpDropped(UdpDropReason.QueueDelay, stale);
        return true;
    }

    /// <summary>Sends what <paramref name="association"/>'s datagrams produced, and adds it to its totals.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FinishShared(UdpAssociation? association, ref UdpSends sends)
    {
        if (association is null)
        {
            return;
        }

        try
        {
            sends.Flush(association.OutboundSocket, _metrics);
        }
        catch (ObjectDisposedException)
        {
            sends.Clear();
        }
        catch (SocketException e)
        {
            sends.Clear();
            association.OnSocketFailed(e.SocketErrorCode);
        }
        finally
        {
            association.Count(sends, _traffic);
        }
    }

    /// <summary>Whether <paramref name="association"/>'s replies leave through this loop's shared-port socket.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool RepliesLeaveShared(UdpAssociation association) =>
        _sharedSocket is not null && association.ClientSocket == _sharedSocket && !association.SharesOneSocket;

    /// <summary>
    /// One turn of an association's outbound socket when its replies leave through the loop's shared-port socket:
    /// as <see cref="Drain"/>, but the replies stay queued on the batch behind those of the associations drained before
    /// it in this pass, so that one sendmmsg on the shared socket carries the replies of up to
    /// <see cref="UdpBatch.Slots"/> associations (with one reply per association per wake-up, which is what many
    /// associations at moderate rates produce, a flush per association would be a system call per reply). Each turn
    /// receives only into the slots no earlier turn received into; the batch goes out when they are used up, before the batch is used for
    /// anything else (<see cref="FlushReplies"/>), and before the loop waits again. A reply never produces more than
    /// one datagram, so a turn's sends always fit its slots.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DrainReplies(UdpAssociation association, long now)
    {
        var batch = _batch;
        var socket = association.OutboundSocket;
        var sends = new UdpSends(batch);
        var stale = 0;
        batch.Owner = association;
        try
        {
            for (var round = 0; round < RoundsPerTurn; round++)
            {
                if (_replySlotsUsed == UdpBatch.Slots)
                {
                    batch.Owner = null;
                    FlushReplies();
                    batch.Owner = association;
                }

                var first = _replySlotsUsed;
                int received;
                try
                {
                    received = batch.Receive(socket, UdpAssociation.HeaderRoom, first);
                }
                catch (SocketException e) when (UdpErrors.IsTransient(e.SocketErrorCode))
                {
                    continue;
                }

                _replySlotsUsed = first + received;

                for (var i = first; i < first + received; i++)
                {
                    if (RelayableLength(batch, i, _metrics, _maxQueueDelay, now, ref stale) is not (>= 0 and var length))
                    {
                        continue;
                    }

                    association.OnDatagram(socket, batch.Slot(i), length, batch.SourceName(i), ref sends);
                }

                if (received < UdpBatch.Slots - first)
                {
                    break;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Its outbound socket closed meanwhile, from another thread; what is queued is sent from the shared socket.
        }
        catch (SocketException e)
        {
            association.OnSocketFailed(e.SocketErrorCode);
        }
        catch (Exception e)
        {
            SocksLog.UdpLoopFailed(_logger, e);
        }
        finally
        {
            batch.Owner = null;
            association.Count(sends, _traffic);
            _metrics.UdpDropped(UdpDropReason.QueueDelay, stale);
        }
    }

    /// <summary>Sends the replies <see cref="DrainReplies"/> left queued on the batch, out of the shared-port socket; each counts to its own association.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FlushReplies()
    {
        if (_sharedSocket is null || _replySlotsUsed == 0)
        {
            return;
        }

        _replySlotsUsed = 0;
        var unowned = default(UdpTally);
        try
        {
            _batch.Flush(_sharedSocket, _metrics, ref unowned);
        }
        catch (ObjectDisposedException)
        {
            // The shared socket closes only at shutdown.
            _batch.Clear();
        }
    }

    /// <summary>
    /// The first datagram from a client the shared port does not know: an association waiting for its client's port
    /// takes it, and is placed on this loop, the one that client's datagrams will keep arriving on.
    /// </summary>
    private UdpAssociation? Learn(in SharedClientKey key)
    {
        if (_shared!.Learn(key) is not { } association)
        {
            return null;
        }

        association.UseSharedSocket(_sharedSocket!);
        try
        {
            Attach(association);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            // Closed meanwhile; Attach has detached it again.
            return null;
        }

        if (association.IsClosed)
        {
            // Closed while being placed: its own Detach may have run before it had a loop.
            Detach(association);
            return null;
        }

        return association;
    }
}
