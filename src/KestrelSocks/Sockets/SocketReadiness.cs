using System.Net.Sockets;

namespace KestrelSocks.Sockets;

/// <summary>
/// Waits until a socket has something to read without taking a buffer for it, so idle connections and
/// associations hold no receive memory.
/// </summary>
internal static class SocketReadiness
{
    // The kernel copies the peeked byte here; nobody reads it, so one array serves every socket at once.
    // A one-byte peek rather than a zero-byte receive: some kernels (gVisor among them) complete a zero-byte
    // receive at once on an empty socket, which would turn the wait into a spin.
    private static readonly byte[] s_peekBuffer = new byte[1];

    public static Memory<byte> PeekBuffer => s_peekBuffer;

    /// <summary>Completes when data (or, on TCP, end of stream) is waiting.</summary>
    public static ValueTask<int> WaitForDataAsync(Socket socket, CancellationToken cancellationToken = default) =>
        socket.ReceiveAsync(s_peekBuffer, SocketFlags.Peek, cancellationToken);
}
