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

    /// <summary>
    /// Sets <paramref name="socket"/>'s receive buffer to <paramref name="bytes"/>: with SO_RCVBUFFORCE where the process
    /// may exceed <c>net.core.rmem_max</c> (Linux, CAP_NET_ADMIN), else with SO_RCVBUF, which the kernel caps. Returns
    /// what was granted, as the program asked for it (Linux reports twice that, its bookkeeping included).
    /// </summary>
    public static int SetLargeReceiveBuffer(Socket socket, int bytes)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                socket.SetRawSocketOption(SolSocket, SoReceiveBufferForce, BitConverter.GetBytes(bytes));
            }
            catch (SocketException)
            {
                // Not permitted: the capped option below.
                TrySetReceiveBuffer(socket, bytes);
            }

            return socket.ReceiveBufferSize / 2;
        }

        TrySetReceiveBuffer(socket, bytes);
        return socket.ReceiveBufferSize;
    }

    private static void TrySetReceiveBuffer(Socket socket, int bytes)
    {
        try
        {
            socket.ReceiveBufferSize = bytes;
        }
        catch (SocketException)
        {
            // The kernel caps buffer sizes; what it grants is the best available.
        }
    }

    private const int SolSocket = 1;
    private const int SoReceiveBufferForce = 33;
}
