using System.Net.Sockets;
using KestrelSocks.Configuration;

namespace KestrelSocks.Relay.Udp;

/// <summary>How every relay socket is made: non-blocking, dual-mode where it is IPv6, with the configured buffers.</summary>
internal static class RelaySockets
{
    public static Socket Create(AddressFamily family, UdpOptions options)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        if (family == AddressFamily.InterNetworkV6 && Socket.OSSupportsIPv4)
        {
            socket.DualMode = true;
        }

        socket.Blocking = false;
        try
        {
            socket.ReceiveBufferSize = options.SocketReceiveBufferSize;
            socket.SendBufferSize = options.SocketSendBufferSize;
        }
        catch (SocketException)
        {
            // The kernel caps buffer sizes; what it grants is the best available.
        }

        return socket;
    }
}
