namespace KestrelSocks.Diagnostics;

/// <summary>The ledger of log event ids. Ids are never reused; retired ones stay listed as comments.</summary>
internal static class EventIds
{
    public const int SessionCompleted = 1;
    public const int HandshakeFailed = 2;
    public const int ConnectionRejected = 3;
    public const int ConnectFailed = 4;
    public const int TunnelAborted = 5;
    public const int ListenerStarted = 6;
    public const int AnonymousOnPublicListener = 7;
    public const int SessionError = 8;
    public const int UdpAssociationEnded = 9;
    public const int UdpDatagramFailed = 10;
    public const int SocketCompletions = 11;
    public const int UdpLoopFailed = 12;
    public const int UdpLoopBehind = 13;
    // 14-19: the descriptor budget and admission limits.
    public const int RequestRefused = 14;
    public const int DescriptorBudget = 15;

    // 20-29: authentication.
    public const int PlaintextPasswords = 20;
    public const int UsersFileLoaded = 21;
    public const int UsersFileNotLoaded = 22;
    public const int AuthenticationFailed = 23;
    public const int AuthenticationFailuresNotLogged = 24;
    public const int ClientBlocked = 25;
    public const int HashCostDiffers = 26;

    // 30-39: access rules.
    public const int AccessRequestDenied = 30;
    public const int AccessDatagramDestinationDenied = 31;
    public const int AccessRulesReloaded = 32;
    public const int AccessRulesReloadFailed = 33;

    // 40-49: per-user limits and bandwidth.
    public const int UserSessionLimitReached = 40;
    public const int UserUdpAssociationLimitReached = 41;

    // 50-59: hosting, the command line and start failures.
    public const int Started = 50;
    public const int Stopping = 51;

    // 60-64: the PROXY protocol.
    public const int ProxyHeaderRejected = 60;

    // 65-69: draining at shutdown (its start is Stopping, 51).
    public const int ListenersClosed = 65;
    public const int Drained = 66;
    public const int DrainTimedOut = 67;

    // 70-74: the shared UDP port.
    public const int UdpSharedPortBound = 70;
    public const int UdpSharedPortUnsteered = 71;
    public const int UdpSharedPortSmallBuffer = 72;
}
