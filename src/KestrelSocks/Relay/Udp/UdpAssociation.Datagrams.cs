using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;

namespace KestrelSocks.Relay.Udp;

internal sealed partial class UdpAssociation
{
    /// <summary>
    /// One datagram of <paramref name="length"/> bytes received on <paramref name="socket"/> from
    /// <paramref name="sourceName"/> (a native sockaddr), lying at <see cref="HeaderRoom"/> in <paramref name="slot"/>.
    /// Relayed through <paramref name="sends"/>, or dropped and counted. Only a closed socket escapes as an exception.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void OnDatagram(Socket socket, Span<byte> slot, int length, ReadOnlySpan<byte> sourceName, ref UdpSends sends)
    {
        try
        {
            var family = socket.AddressFamily;
            if (socket == ClientSocket && _client.IsClient(family, sourceName))
            {
                sends.Active = true;
                FromClient(slot, length, ref sends);
            }
            else if (socket == OutboundSocket)
            {
                FromRemote(slot, length, family, sourceName, ref sends);
            }
            else
            {
                _relay.Metrics.UdpDropped(UdpDropReason.WrongSource);
            }
        }
        catch (Exception e) when (e is not ObjectDisposedException)
        {
            // A bug must cost one datagram, never the association or the process.
            _relay.OnInternalError(this, e);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FromClient(Span<byte> slot, int length, ref UdpSends sends)
    {
        var datagram = slot.Slice(HeaderRoom, length);
        if (Socks5UdpHeader.TryParse(datagram, out var fragment, out var destination, out var headerLength) != UdpHeaderStatus.Valid)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.Malformed);
            return;
        }

        Span<byte> payload = datagram[headerLength..];
        if (fragment != 0 && !TryReassemble(fragment, ref destination, slot, ref payload))
        {
            return;
        }

        if (payload.Length > _relay.Options.MaxDatagramSize)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.TooLarge);
            return;
        }

        if (TryGetTarget(destination, payload, out var target) && WithinBandwidth(_upstreamLimit, payload.Length))
        {
            sends.Send(OutboundSocket, payload, payload.Length, target, upstream: true, default, _relay.Metrics);
        }
    }

    /// <summary>A destination's datagram: relayed to the client behind a header that names the sender.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FromRemote(Span<byte> slot, int length, AddressFamily family, ReadOnlySpan<byte> sourceName, ref UdpSends sends)
    {
        if (length > _relay.Options.MaxDatagramSize)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.TooLarge);
            return;
        }

        Span<byte> source = stackalloc byte[16];
        var addressLength = SocketAddressCodec.Read(family, sourceName, source, out var port);
        if (_relay.Options.RepliesOnlyFromContacted && !_destinations.IsContacted(source[..addressLength], port))
        {
            // Port-restricted, like a NAT: only a destination the client has sent to may answer it. On a socket that
            // serves both sides such a sender is neither the client nor a destination: a wrong source.
            _relay.Metrics.UdpDropped(SharesOneSocket ? UdpDropReason.WrongSource : UdpDropReason.Unsolicited);
            return;
        }

        var client = _client.ReturnAddress;
        if (client is null)
        {
            _relay.Metrics.UdpDropped(UdpDropReason.ClientUnknown);
            return;
        }

        // The association's own traffic even when shed: a reply that is dropped still shows the flow is alive.
        sends.Active = true;
        if (!WithinBandwidth(_downstreamLimit, length))
        {
            return;
        }

        var start = Socks5UdpHeader.WriteBefore(slot, HeaderRoom, addressLength == 16 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, source[..addressLength], port);
        sends.Send(ClientSocket, slot[start..(HeaderRoom + length)], length, client, upstream: false, _replySource, _relay.Metrics);
    }

    /// <summary>
    /// The socket address to send to. False when the datagram was dropped (rule set, DNS) or parked until its
    /// name resolves; parked datagrams are sent by <see cref="RunScheduled"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryGetTarget(in Socks5Address destination, ReadOnlySpan<byte> payload, out SocketAddress target)
    {
        target = null!;
        SocketAddress? found;
        string? deniedBy;
        if (destination.Type == AddressType.DomainName)
        {
            // A name the rules refuse whatever it resolves to is never looked up.
            if (!_destinations.AllowsName(destination.AddressBytes, destination.Port, out deniedBy))
            {
                DropDenied(deniedBy);
                return false;
            }

            if (!_relay.Dns.TryGet(destination.AddressBytes, out var addresses, out var resolution))
            {
                Park(destination, payload, resolution!);
                return false;
            }

            var address = addresses is null ? null : PickAddress(addresses);
            if (address is null)
            {
                _relay.Metrics.UdpDropped(UdpDropReason.DnsFailure);
                return false;
            }

            Span<byte> bytes = stackalloc byte[16];
            address.TryWriteBytes(bytes, out var written);
            found = _destinations.GetTarget(bytes[..written], destination.Port, destination.AddressBytes, out deniedBy);
        }
        else
        {
            found = _destinations.GetTarget(destination.AddressBytes, destination.Port, default, out deniedBy);
        }

        if (found is null)
        {
            DropDenied(deniedBy);
            return false;
        }

        target = found;
        return true;
    }

    /// <summary>Counted as a policy drop, and by rule when a rule refused it (not when the socket lacks the family).</summary>
    private void DropDenied(string? rule)
    {
        _relay.Metrics.UdpDropped(UdpDropReason.Policy);
        if (rule is not null)
        {
            _relay.Policy.DatagramDenied(rule);
        }
    }

    /// <summary>Takes a datagram's payload from its user's bucket; false (dropped and counted) when the bucket cannot cover it. No bucket, no cost.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool WithinBandwidth(TokenBucket? limit, int length)
    {
        if (limit is null || limit.TryTake(length))
        {
            return true;
        }

        _relay.Metrics.UdpDropped(UdpDropReason.Bandwidth);
        return false;
    }

    private IPAddress? PickAddress(IPAddress[] addresses)
    {
        var dualMode = OutboundSocket.AddressFamily == AddressFamily.InterNetworkV6;
        foreach (var address in addresses)
        {
            if (dualMode || address.AddressFamily == AddressFamily.InterNetwork)
            {
                return address;
            }
        }

        return null;
    }
}
