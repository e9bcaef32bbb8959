using KestrelSocks.Access;
using KestrelSocks.Protocol;
using KestrelSocks.Session;

namespace KestrelSocks.Commands;

/// <summary>A session as the rule set sees it: the client's address, the authenticated user and their groups.</summary>
internal static class SessionAccess
{
    /// <summary>No destination yet: BIND, or a UDP association before its datagrams.</summary>
    public static AccessRequest CreateRequest(Socks5Session session, AccessCommand command) =>
        new(command, session.RemoteEndPoint?.Address, GetUser(session), GetGroups(session));

    /// <summary>A CONNECT to <paramref name="destination"/>: its port, and its name when it is one.</summary>
    public static AccessRequest CreateRequest(Socks5Session session, in Socks5Address destination) =>
        CreateRequest(session, AccessCommand.Connect)
            .WithDestination(destination.Type == AddressType.DomainName ? destination.AddressBytes : default, destination.Port);

    /// <summary>Null for an anonymous session, which the session reports as "-".</summary>
    public static string? GetUser(Socks5Session session) => session.User == "-" ? null : session.User;

    /// <summary>Empty for an anonymous session.</summary>
    public static string[] GetGroups(Socks5Session session) => session.Groups;
}
