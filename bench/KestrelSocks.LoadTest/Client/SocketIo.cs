using System.Net.Sockets;

namespace KestrelSocks.LoadTest.Client;

/// <summary>Small socket helpers shared by the client and the targets.</summary>
internal static class SocketIo
{
    /// <summary>Fills <paramref name="buffer"/> completely; throws when the peer closes first.</summary>
    public static async ValueTask ReceiveExactAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("The peer closed the connection early.");
            }

            buffer = buffer[read..];
        }
    }

    /// <summary>Sends all of <paramref name="buffer"/>.</summary>
    public static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var sent = await socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
            buffer = buffer[sent..];
        }
    }

    /// <summary>Fills <paramref name="buffer"/> completely with blocking calls; throws when the peer closes first.</summary>
    public static void ReceiveExact(Socket socket, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var read = socket.Receive(buffer, SocketFlags.None);
            if (read == 0)
            {
                throw new EndOfStreamException("The peer closed the connection early.");
            }

            buffer = buffer[read..];
        }
    }

    /// <summary>Sends all of <paramref name="buffer"/> with blocking calls.</summary>
    public static void SendAll(Socket socket, ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            var sent = socket.Send(buffer, SocketFlags.None);
            buffer = buffer[sent..];
        }
    }

    /// <summary>
    /// Closes <paramref name="socket"/> when <paramref name="cancellationToken"/> is cancelled: a blocking call cannot
    /// watch a token, but closing its socket ends it with an exception.
    /// </summary>
    public static CancellationTokenRegistration CloseOnCancel(Socket socket, CancellationToken cancellationToken)
    {
        return cancellationToken.Register(static s => CloseQuietly((Socket)s!), socket);
    }

    /// <summary>A TCP socket for loopback tests: no Nagle, so a 64-byte exchange is not delayed.</summary>
    public static Socket CreateTcp(AddressFamily family)
    {
        return new Socket(family, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    }

    /// <summary>Closes quietly: errors on close say nothing about the proxy.</summary>
    public static void CloseQuietly(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        try
        {
            socket.Dispose();
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
