namespace KestrelSocks.Session;

/// <summary>Where a session is in the handshake. Each state survives partial reads: it waits for its whole message.</summary>
internal enum HandshakeState
{
    Greeting,
    Authentication,
    Request,
}
