using System.Net;
using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Access;

/// <summary>Log messages of the rule set. Denials are Debug: the session's Information line already says REP 02, and a client can cause any number of them.</summary>
internal static partial class AccessLog
{
    [LoggerMessage(EventIds.AccessRequestDenied, LogLevel.Debug,
        "Session {ConnectionId} from {Client} user {User}: {Command} {Destination} denied by rule {Rule} ({Phase})")]
    public static partial void RequestDenied(ILogger logger, string connectionId, EndPoint? client, string user, string command,
        string destination, string rule, string phase);

    [LoggerMessage(EventIds.AccessDatagramDestinationDenied, LogLevel.Debug,
        "UDP association {AssociationId}: datagrams to {Destination} port {Port} denied by rule {Rule}")]
    public static partial void DatagramDestinationDenied(ILogger logger, long associationId, string destination, int port, string rule);

    [LoggerMessage(EventIds.AccessRulesReloaded, LogLevel.Information,
        "Access rules reloaded: {RuleCount} rules, default action {DefaultAction}, egress guard {EgressGuard}")]
    public static partial void Reloaded(ILogger logger, int ruleCount, string defaultAction, bool egressGuard);

    [LoggerMessage(EventIds.AccessRulesReloadFailed, LogLevel.Warning,
        "Access rules not reloaded, the previous rules stay in force: {Errors}")]
    public static partial void ReloadFailed(ILogger logger, string errors);
}
