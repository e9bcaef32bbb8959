namespace KestrelSocks.Diagnostics;

/// <summary>Why a request was refused by a limit after the handshake (REP 02). Tagged as <c>socks.reject_reason</c>.</summary>
internal enum RequestRefusalReason
{
    /// <summary>The authenticated user already had Limits:PerUser:MaxSessions sessions open.</summary>
    UserSessions,

    /// <summary>The authenticated user already held Limits:PerUser:MaxUdpAssociations UDP associations.</summary>
    UserUdpAssociations,
}
