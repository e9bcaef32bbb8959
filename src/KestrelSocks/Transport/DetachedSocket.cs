using System.Net.Sockets;

namespace KestrelSocks.Transport;

/// <param name="Socket">The connection's socket, now the caller's.</param>
/// <param name="InputEnded">The peer had sent FIN before the hand-over: no more bytes will come from the socket.</param>
/// <param name="EarlyData">
/// Bytes the transport had received and the application had not consumed, in order; they come before anything read
/// from the socket. Rented from <see cref="System.Buffers.ArrayPool{T}.Shared"/>: the caller returns it. Null when there were none.
/// </param>
/// <param name="EarlyLength">How many bytes of <paramref name="EarlyData"/> are data.</param>
internal readonly record struct DetachedSocket(Socket Socket, bool InputEnded, byte[]? EarlyData, int EarlyLength);
