using KestrelSocks.Protocol;

namespace KestrelSocks.Relay.Udp;

/// <summary>A datagram to a domain whose resolution is still running: a pooled copy of its payload.</summary>
internal readonly struct PendingDatagram(byte[] buffer, int length, Socks5Address destination)
{
    public byte[] Buffer { get; } = buffer;

    public int Length { get; } = length;

    public Socks5Address Destination { get; } = destination;
}
