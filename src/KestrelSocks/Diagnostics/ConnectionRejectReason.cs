namespace KestrelSocks.Diagnostics;

/// <summary>Why a connection was refused at accept, before any byte was read.</summary>
internal enum ConnectionRejectReason
{
    /// <summary><c>Limits:MaxConcurrentSessions</c> are open.</summary>
    SessionLimit,

    /// <summary>The descriptor budget has no room for the connection.</summary>
    DescriptorBudget,

    /// <summary><c>Limits:MaxHandshakes</c> connections are still in their handshake.</summary>
    HandshakeLimit,

    /// <summary>The client has <c>Limits:MaxHandshakesPerClient</c> handshakes in progress.</summary>
    ClientHandshakeLimit,

    /// <summary>The client has <c>Limits:MaxSessionsPerClient</c> sessions open.</summary>
    ClientSessionLimit,

    /// <summary>The client opened sessions faster than <c>Limits:NewSessionsPerClientPerSecond</c> allows.</summary>
    ClientRateLimit,
}
