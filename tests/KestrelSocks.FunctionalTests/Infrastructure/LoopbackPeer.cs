using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>The other party of a BIND: a plain TCP connection to the proxy's listener, optionally from a chosen loopback address.</summary>
internal static class LoopbackPeer
{
    /// <summary>
    /// Connects to <paramref name="target"/>. With <paramref name="source"/> the socket is bound to that address first
    /// (any 127.0.0.0/8 address works on Linux loopback), so the proxy sees the connection come from it.
    /// </summary>
    public static async Task<Socket> ConnectAsync(IPEndPoint target, IPAddress? source = null)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            using var timeout = new CancellationTokenSource(TestTimeouts.Default);
            await socket.ConnectAsync(target, timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            bytes = bytes[sent..];
        }
    }

    public static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        var buffer = new byte[count];
        var filled = 0;
        while (filled < count)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token);
            if (received == 0)
            {
                throw new EndOfStreamException($"The connection ended after {filled} of {count} expected bytes.");
            }

            filled += received;
        }

        return buffer;
    }

    /// <summary>Reads until the other side closes; a reset counts as a close and is reported.</summary>
    public static async Task<ConnectionEnd> ReadUntilClosedAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        var data = new List<byte>();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            int received;
            try
            {
                received = await socket.ReceiveAsync(chunk, SocketFlags.None, timeout.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                return new ConnectionEnd([.. data], WasReset: true);
            }

            if (received == 0)
            {
                return new ConnectionEnd([.. data], WasReset: false);
            }

            data.AddRange(chunk.AsSpan(0, received));
        }
    }
}
