namespace KestrelSocks.Diagnostics;

/// <summary>Why a request was answered with a refusal because of a limit, not the destination. Tagged as <c>socks.refusal_reason</c>.</summary>
internal enum RequestRefusalReason
{
    /// <summary>The descriptor budget has no room for the socket the request needs (REP 01).</summary>
    DescriptorBudget,

    /// <summary><c>Udp:MaxAssociations</c> are open on the server (REP 01).</summary>
    AssociationLimit,

    /// <summary>The client address holds <c>Udp:MaxAssociationsPerClient</c> associations (REP 02).</summary>
    ClientAssociationLimit,

    /// <summary>The control connection holds <c>Udp:MaxAssociationsPerConnection</c> associations (REP 02).</summary>
    ConnectionAssociationLimit,

    /// <summary>The authenticated user already had Limits:PerUser:MaxSessions sessions open (REP 02).</summary>
    UserSessions,

    /// <summary>The authenticated user already held Limits:PerUser:MaxUdpAssociations UDP associations (REP 02).</summary>
    UserUdpAssociations,

    /// <summary>On the shared UDP port, another association holds the address and port the client declared (REP 01).</summary>
    ClientEndPointInUse,
}
