namespace KestrelSocks.Transport;

/// <summary>
/// Hands a connection's socket over to the application, for a relay that moves bytes socket to socket after the
/// handshake. Once it completes, the transport neither reads nor writes the socket; aborting the connection (at the
/// end of a shutdown drain, say) still closes it.
/// </summary>
internal interface ISocketDetachFeature
{
    /// <summary>
    /// Stops the transport's loops and returns the socket. Output flushed before the call has been sent when it
    /// returns. Bytes the transport had already received stay readable, in order, from the connection's input pipe:
    /// the application must take them (<c>TryRead</c>) before reading the socket.
    /// </summary>
    Task<DetachedSocket> DetachAsync();
}
