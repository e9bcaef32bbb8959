using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets.Linux;

namespace KestrelSocks.Relay.Udp;

internal sealed partial class UdpEventLoop
{
    /// <summary>The readiness data of the loop's shared-port socket; slots' data are far below it.</summary>
    private const ulong SharedData = Epoll.WakeData - 1;

    private readonly SharedUdpPort? _shared;
    private readonly Socket? _sharedSocket;

    /// <summary>
    /// One turn of the loop's shared-port socket: each batch holds datagrams from any of the loop's clients. Each is
    /// handed to its client's association (found by source address and port, or learnt), and what consecutive
    /// datagrams of one association produce goes out in one sendmmsg on its outbound socket. A datagram whose source
    /// is no association's client is dropped and counted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DrainShared(long now)
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

                return;
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
                break;
            }
        }

        _metrics.UdpDropped(UdpDropReason.QueueDelay, stale);
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
