using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.Sockets;

/// <summary>
/// The local address the kernel would send from to reach a peer. That peer can most likely reach the proxy there, so it
/// is the address to listen on and announce when a client names an address of the other family than its control
/// connection's: listening on every interface instead would announce an address nothing listens on.
/// </summary>
internal static class LocalRoute
{
    /// <summary>Throws <see cref="SocketException"/> when the host has no route to <paramref name="peer"/>.</summary>
    public static IPAddress GetSourceAddress(IPAddress peer)
    {
        // Connecting a UDP socket sends nothing: the kernel only picks the route, and with it the source address.
        using var probe = new Socket(peer.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(new IPEndPoint(peer, 9));
        return ((IPEndPoint)probe.LocalEndPoint!).Address;
    }
}
