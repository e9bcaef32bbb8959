using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.Sockets;

/// <summary>Binds a socket to a port from a configured range, or to an ephemeral port when the range is 0–0.</summary>
internal static class PortRangeBinder
{
    public static void Bind(Socket socket, IPAddress address, int rangeStart, int rangeEnd)
    {
        if (rangeStart == 0 && rangeEnd == 0)
        {
            socket.Bind(new IPEndPoint(address, 0));
            return;
        }

        // Start at a random offset so concurrent sessions do not all race for the range's first port.
        var count = rangeEnd - rangeStart + 1;
        var offset = Random.Shared.Next(count);
        for (var i = 0; i < count; i++)
        {
            var port = rangeStart + ((offset + i) % count);
            try
            {
                socket.Bind(new IPEndPoint(address, port));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
            }
        }

        throw new SocketException((int)SocketError.AddressAlreadyInUse);
    }
}
