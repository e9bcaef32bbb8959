using System.Net.Sockets;

namespace KestrelSocks.LoadTest.Client;

/// <summary>
/// Socket buffers of the generator's own UDP sockets. A 1,200-byte datagram takes about 2.3 KB of buffer, so the
/// usual 4 MiB cap (net.core.rmem_max) holds some 30 ms at 50,000/s: a busy 2-core machine can stall a thread that
/// long. Where the process may (root, CAP_NET_ADMIN), SO_RCVBUFFORCE/SO_SNDBUFFORCE lift the cap for the
/// generator's sockets only, so its own scheduling hiccups do not show up as the proxy's loss.
/// </summary>
internal static class UdpBuffers
{
    private const int Size = 32 * 1024 * 1024;
    private const int SolSocket = 1;
    private const int SoSndBufForce = 32;
    private const int SoRcvBufForce = 33;

    public static void Enlarge(Socket socket)
    {
        socket.ReceiveBufferSize = 4 * 1024 * 1024;
        socket.SendBufferSize = 4 * 1024 * 1024;
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            socket.SetRawSocketOption(SolSocket, SoRcvBufForce, BitConverter.GetBytes(Size));
            socket.SetRawSocketOption(SolSocket, SoSndBufForce, BitConverter.GetBytes(Size));
        }
        catch (SocketException)
        {
            // Not privileged: the capped sizes above stay.
        }
    }
}
