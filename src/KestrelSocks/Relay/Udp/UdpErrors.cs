using System.Net.Sockets;

namespace KestrelSocks.Relay.Udp;

internal static class UdpErrors
{
    /// <summary>
    /// Errors a receive reports for an earlier datagram (an ICMP error from a send, a datagram too large for the
    /// buffer) rather than for the socket, which goes on working.
    /// </summary>
    public static bool IsTransient(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.HostUnreachable
            or SocketError.NetworkUnreachable or SocketError.MessageSize;
}
