namespace KestrelSocks.Configuration;

/// <summary>How an established tunnel moves bytes.</summary>
internal enum RelayMode
{
    /// <summary>The best the connection allows: <see cref="Splice"/> on Linux and <see cref="Socket"/> elsewhere when the transport can hand its socket over, else <see cref="Pipe"/>.</summary>
    Auto,

    /// <summary>Socket to socket through kernel pipes with splice(2), after the hand-over; Linux only.</summary>
    Splice,

    /// <summary>Socket to socket with pooled buffers, after the transport hands the client socket over.</summary>
    Socket,

    /// <summary>Through the connection's pipes; works on any transport.</summary>
    Pipe,
}
