using System.Net.Sockets;

namespace KestrelSocks.Transport;

/// <param name="Socket">The connection's socket, now the caller's.</param>
/// <param name="InputEnded">The peer had sent FIN before the hand-over: no more bytes will come from the socket.</param>
internal readonly record struct DetachedSocket(Socket Socket, bool InputEnded);
