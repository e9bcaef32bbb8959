using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;

namespace KestrelSocks.Relay.Udp;

internal sealed partial class UdpAssociation
{
    // Fragments are rare; the sweeper's timer reads the same state, so it sits behind a lock of its own.
    private readonly Lock _reassemblyLock = new();
    private FragmentReassembler? _reassembler;

    /// <summary>
    /// Adds a fragment (FRAG != 0). True when it completed a datagram, which then lies at the start of
    /// <paramref name="slot"/> in <paramref name="payload"/>, with its destination in <paramref name="destination"/>.
    /// </summary>
    private bool TryReassemble(byte fragment, ref Socks5Address destination, Span<byte> slot, ref Span<byte> payload)
    {
        if (!_relay.Options.Fragmentation)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.FragmentDropped);
            return false;
        }

        FragmentResult result;
        int assembledLength;
        int abandoned;
        lock (_reassemblyLock)
        {
            if (IsClosed)
            {
                return false;
            }

            _reassembler ??= new FragmentReassembler(_relay.Options.MaxDatagramSize);

            // The fragment is copied into the queue first, so the whole datagram may be assembled over it.
            result = _reassembler.Add(fragment, destination, payload, _relay.TimeProvider.GetTimestamp(),
                slot, out assembledLength, out var assembledDestination, out abandoned);
            destination = assembledDestination;
        }

        _relay.Metrics.UdpDropped(UdpDropReason.FragmentDropped, abandoned + (result == FragmentResult.Dropped ? 1 : 0));
        if (result != FragmentResult.Complete)
        {
            return false;
        }

        payload = slot[..assembledLength];
        return true;
    }

    private void SweepReassembly(long now)
    {
        lock (_reassemblyLock)
        {
            if (_reassembler is { IsActive: true } reassembler && now - reassembler.StartedAt >= _relay.ReassemblyTimeoutTicks)
            {
                _relay.Metrics.UdpDropped(UdpDropReason.ReassemblyTimeout, reassembler.Reset());
            }
        }
    }

    private void CloseReassembly()
    {
        lock (_reassemblyLock)
        {
            _reassembler?.Dispose();
        }
    }
}
