using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Diagnostics;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Where a drain's datagrams go out: queued on the relay loop's batch (one sendmmsg per drain) when there is one,
/// otherwise sent one by one with non-blocking calls. Either way a refused datagram is dropped and counted, and
/// what went out is added up in <see cref="Tally"/>.
/// </summary>
internal struct UdpSends
{
    private readonly UdpBatch? _batch;

    public UdpSends(UdpBatch? batch)
    {
        _batch = batch;
    }

    /// <summary>What went out so far, each way.</summary>
    public UdpTally Tally;

    /// <summary>The association's own traffic (its client, or a destination it contacted) was seen in this drain.</summary>
    public bool Active;

    /// <summary>
    /// Sends <paramref name="datagram"/> to <paramref name="target"/>. With a batch the datagram must lie in the batch's
    /// slots (or be copied there with <see cref="SendCopy"/>); <paramref name="source"/> is the local address it leaves
    /// from (16 bytes, on a wildcard-bound socket; empty lets the kernel choose).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Send(Socket socket, ReadOnlySpan<byte> datagram, int payloadLength, SocketAddress target, bool upstream, ReadOnlySpan<byte> source, SocksMetrics metrics)
    {
        if (_batch is { } batch && OperatingSystem.IsLinux())
        {
            var name = target.Buffer.Span[..target.Size];
            if (!batch.TryQueue(datagram, payloadLength, name, upstream, source))
            {
                batch.Flush(socket, metrics, ref Tally);
                batch.TryQueue(datagram, payloadLength, name, upstream, source);
            }

            return;
        }

        try
        {
            socket.SendTo(datagram, SocketFlags.None, target);
            Tally.Add(upstream, payloadLength);
        }
        catch (SocketException e)
        {
            metrics.UdpDropped(ToDropReason(e.SocketErrorCode));
        }
    }

    /// <summary>The same for a datagram held outside the batch (a parked one): it is copied into a free slot first.</summary>
    public void SendCopy(Socket socket, ReadOnlySpan<byte> datagram, SocketAddress target, bool upstream, SocksMetrics metrics)
    {
        if (_batch is { } batch && OperatingSystem.IsLinux())
        {
            if (batch.Queued == UdpBatch.Slots)
            {
                batch.Flush(socket, metrics, ref Tally);
            }

            var slot = batch.Slot(batch.Queued);
            datagram.CopyTo(slot);
            Send(socket, slot[..datagram.Length], datagram.Length, target, upstream, default, metrics);
            return;
        }

        Send(socket, datagram, datagram.Length, target, upstream, default, metrics);
    }

    /// <summary>Sends what is queued on the batch; nothing to do without one.</summary>
    public void Flush(Socket socket, SocksMetrics metrics)
    {
        if (_batch is { } batch && OperatingSystem.IsLinux())
        {
            batch.Flush(socket, metrics, ref Tally);
        }
    }

    /// <summary>Forgets what is queued (the socket is gone).</summary>
    public readonly void Clear()
    {
        if (_batch is { } batch && OperatingSystem.IsLinux())
        {
            batch.Clear();
        }
    }

    public static UdpDropReason ToDropReason(SocketError error) =>
        error == SocketError.MessageSize ? UdpDropReason.TooLarge : UdpDropReason.SendFailure;
}
