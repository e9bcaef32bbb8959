namespace KestrelSocks.Transport;

/// <summary>
/// Hands a connection's socket over to the application, for a relay that moves bytes socket to socket after the
/// handshake. Once it completes, the transport neither reads nor writes the socket; aborting the connection (at the
/// end of a shutdown drain, say) still closes it.
/// </summary>
internal interface ISocketDetachFeature
{
    /// <summary>
    /// Stops the transport's loops and returns the socket, with the bytes it had received that the application left
    /// unconsumed in the input pipe. Output flushed before the call has been sent when it returns. Afterwards the
    /// connection's pipes are released: <see cref="Microsoft.AspNetCore.Connections.ConnectionContext.Transport"/>
    /// reads as ended and refuses writes.
    /// </summary>
    Task<DetachedSocket> DetachAsync();
}
