using System.Buffers;
using System.Net;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;

namespace KestrelSocks.Relay.Udp;

internal sealed partial class UdpAssociation
{
    private const int MaxParkedDatagrams = 64;

    // Parked datagrams are added on the datagram path and taken back by resolutions completing on the thread pool.
    private readonly Lock _parkedLock = new();
    private List<PendingDatagram>? _parked;
    private HashSet<Task<IPAddress[]?>>? _awaitedResolutions;

    /// <summary>
    /// Sends the parked datagrams whose names have resolved meanwhile; the engine calls it where the association's
    /// datagram work runs, after a resolution asked for it (<see cref="IUdpEngine.Schedule"/>).
    /// </summary>
    public void RunScheduled(ref UdpSends sends)
    {
        List<PendingDatagram>? ready;
        lock (_parkedLock)
        {
            ready = _parked;
            _parked = null;
        }

        if (ready is null)
        {
            return;
        }

        foreach (var item in ready)
        {
            // Datagrams for names still resolving are parked again; the rest go out now.
            try
            {
                var payload = item.Buffer.AsSpan(0, item.Length);
                if (!IsClosed && TryGetTarget(item.Destination, payload, out var target) && WithinBandwidth(_upstreamLimit, payload.Length))
                {
                    sends.SendCopy(OutboundSocket, payload, target, upstream: true, _relay.Metrics);
                }
            }
            catch (ObjectDisposedException)
            {
                // Closed meanwhile.
            }
            catch (Exception e)
            {
                _relay.OnInternalError(this, e);
            }

            ArrayPool<byte>.Shared.Return(item.Buffer);
        }
    }

    private void Park(in Socks5Address destination, ReadOnlySpan<byte> payload, Task<IPAddress[]?> resolution)
    {
        bool watch;
        lock (_parkedLock)
        {
            _parked ??= [];
            if (IsClosed || _parked.Count >= MaxParkedDatagrams)
            {
                _relay.Metrics.UdpDropped(UdpDropReason.DnsFailure);
                return;
            }

            var copy = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
            payload.CopyTo(copy);
            _parked.Add(new PendingDatagram(copy, payload.Length, destination));
            _awaitedResolutions ??= [];
            watch = _awaitedResolutions.Add(resolution);
        }

        if (watch)
        {
            _ = ScheduleWhenResolvedAsync(resolution);
        }
    }

    private async Task ScheduleWhenResolvedAsync(Task<IPAddress[]?> resolution)
    {
        await ((Task)resolution).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_parkedLock)
        {
            _awaitedResolutions!.Remove(resolution);
            if (_parked is null || _parked.Count == 0 || IsClosed)
            {
                return;
            }
        }

        _relay.Engine.Schedule(this);
    }

    private void ReturnPending(UdpDropReason reason)
    {
        lock (_parkedLock)
        {
            if (_parked is null)
            {
                return;
            }

            _relay.Metrics.UdpDropped(reason, _parked.Count);
            foreach (var item in _parked)
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }

            _parked = null;
        }
    }
}
