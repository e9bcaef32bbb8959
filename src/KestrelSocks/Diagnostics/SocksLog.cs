using System.Net;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Diagnostics;

/// <summary>Every log message of the proxy. Payload bytes and passwords never reach a log.</summary>
internal static partial class SocksLog
{
    [LoggerMessage(EventIds.SessionCompleted, LogLevel.Information,
        "Session {ConnectionId} from {Client} user {User}: {Command} {Destination} reply {Reply}, {BytesUp} bytes up, {BytesDown} bytes down, {DurationMs} ms")]
    public static partial void SessionCompleted(ILogger logger, string connectionId, EndPoint? client, string user, string command,
        string destination, string reply, long bytesUp, long bytesDown, long durationMs);

    [LoggerMessage(EventIds.HandshakeFailed, LogLevel.Debug, "Session {ConnectionId} from {Client}: handshake failed ({Reason})")]
    public static partial void HandshakeFailed(ILogger logger, string connectionId, EndPoint? client, string reason);

    [LoggerMessage(EventIds.ConnectionRejected, LogLevel.Warning,
        "Connection {ConnectionId} from {Client} refused: {Reason} ({Limit}); {Suppressed} more refused since the last such line")]
    public static partial void ConnectionRejected(ILogger logger, string connectionId, EndPoint? client, string reason, int limit, long suppressed);

    [LoggerMessage(EventIds.ProxyHeaderRejected, LogLevel.Warning,
        "Connection {ConnectionId} from {Peer} closed: PROXY protocol header {Reason}; {Suppressed} more closed since the last such line")]
    public static partial void ProxyHeaderRejected(ILogger logger, string connectionId, EndPoint? peer, string reason, long suppressed);

    [LoggerMessage(EventIds.RequestRefused, LogLevel.Warning,
        "Session {ConnectionId} from {Client}: {Command} refused: {Reason}; {Suppressed} more refused since the last such line")]
    public static partial void RequestRefused(ILogger logger, string connectionId, EndPoint? client, string command, string reason, long suppressed);

    [LoggerMessage(EventIds.DescriptorBudget, LogLevel.Information,
        "Descriptor budget: {Budget} for sessions and their sockets, of a process limit of {ProcessLimit} ({Reserve} reserved, {OpenAtStart} open at start)")]
    public static partial void DescriptorBudgetSet(ILogger logger, int budget, long processLimit, int reserve, int openAtStart);

    [LoggerMessage(EventIds.ConnectFailed, LogLevel.Debug, "Session {ConnectionId}: connect to {Destination} failed with {Reply}")]
    public static partial void ConnectFailed(ILogger logger, string connectionId, string destination, string reply, Exception? exception);

    [LoggerMessage(EventIds.TunnelAborted, LogLevel.Debug, "Session {ConnectionId}: tunnel aborted ({Reason})")]
    public static partial void TunnelAborted(ILogger logger, string connectionId, string reason, Exception? exception);

    [LoggerMessage(EventIds.ListenerStarted, LogLevel.Information, "Listening for {Protocol} on {EndPoint}")]
    public static partial void ListenerStarted(ILogger logger, string protocol, EndPoint endPoint);

    [LoggerMessage(EventIds.SocketCompletions, LogLevel.Information, "Socket completions run {Where} ({Variable}={Value})")]
    public static partial void SocketCompletions(ILogger logger, string where, string variable, string value);

    [LoggerMessage(EventIds.AnonymousOnPublicListener, LogLevel.Warning,
        "SOCKS listener {EndPoint} is not loopback and anonymous access is on: anyone who reaches it can use this proxy. Set KestrelSocks:Authentication:AllowAnonymous=false to require a username and password.")]
    public static partial void AnonymousOnPublicListener(ILogger logger, EndPoint endPoint);

    [LoggerMessage(EventIds.UdpAssociationEnded, LogLevel.Information,
        "UDP association {AssociationId} of session {ConnectionId} user {User} on {RelayEndPoint} ended ({Reason}): {DatagramsUp} datagrams ({BytesUp} bytes) up, {DatagramsDown} datagrams ({BytesDown} bytes) down, {DurationMs} ms")]
    public static partial void UdpAssociationEnded(ILogger logger, long associationId, string connectionId, string user, EndPoint relayEndPoint,
        string reason, long datagramsUp, long bytesUp, long datagramsDown, long bytesDown, long durationMs);

    [LoggerMessage(EventIds.UdpDatagramFailed, LogLevel.Error, "UDP association {AssociationId}: a datagram could not be processed and was dropped")]
    public static partial void UdpDatagramFailed(ILogger logger, long associationId, Exception exception);

    [LoggerMessage(EventIds.UdpLoopFailed, LogLevel.Error, "UDP relay loop: unexpected error; the loop carries on")]
    public static partial void UdpLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.UdpLoopBehind, LogLevel.Warning,
        "UDP relay loop {Loop} has been busy for {BusyMs} ms without a pause: from now on its datagrams are stamped on arrival and those older than {MaxQueueDelayMs} ms are dropped as queue_delay")]
    public static partial void UdpLoopBehind(ILogger logger, int loop, long busyMs, long maxQueueDelayMs);

    [LoggerMessage(EventIds.UdpSharedPortBound, LogLevel.Information,
        "UDP shared port {Port}: every association's client sends there (Udp:Mode=Shared), {Sockets} relay sockets steered by client port")]
    public static partial void UdpSharedPortBound(ILogger logger, int port, int sockets);

    [LoggerMessage(EventIds.UdpSharedPortUnsteered, LogLevel.Warning,
        "UDP shared port {Port}: the kernel cannot steer datagrams among {Loops} relay loops ({Error}); one loop carries every shared-port association")]
    public static partial void UdpSharedPortUnsteered(ILogger logger, int port, int loops, System.Net.Sockets.SocketError error);

    [LoggerMessage(EventIds.UdpSharedPortSmallBuffer, LogLevel.Warning,
        "UDP shared port {Port}: each socket's receive buffer is {Granted} bytes, not the {Requested} of Udp:SharedSocketReceiveBufferSize (the kernel caps it at net.core.rmem_max without CAP_NET_ADMIN); a relay loop that falls behind loses datagrams sooner")]
    public static partial void UdpSharedPortSmallBuffer(ILogger logger, int port, int granted, int requested);

    [LoggerMessage(EventIds.UserSessionLimitReached, LogLevel.Warning,
        "User {User} has {Limit} sessions open, its limit (Limits:PerUser:MaxSessions): further requests get REP 02 until one ends ({Refused} refused since the last such line)")]
    public static partial void UserSessionLimitReached(ILogger logger, string user, int limit, long refused);

    [LoggerMessage(EventIds.UserUdpAssociationLimitReached, LogLevel.Warning,
        "User {User} holds {Limit} UDP associations, its limit (Limits:PerUser:MaxUdpAssociations): further UDP ASSOCIATE requests get REP 02 until one ends ({Refused} refused since the last such line)")]
    public static partial void UserUdpAssociationLimitReached(ILogger logger, string user, int limit, long refused);

    [LoggerMessage(EventIds.SessionError, LogLevel.Error, "Session {ConnectionId}: unexpected error")]
    public static partial void SessionError(ILogger logger, string connectionId, Exception exception);
}
