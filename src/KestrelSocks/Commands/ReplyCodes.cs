using System.Net.Sockets;
using KestrelSocks.Protocol;

namespace KestrelSocks.Commands;

/// <summary>Maps socket and resolver failures to the REP codes of RFC 1928 section 6.</summary>
internal static class ReplyCodes
{
    public static ReplyCode FromSocketError(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => ReplyCode.ConnectionRefused,
        SocketError.HostUnreachable or SocketError.HostDown or SocketError.HostNotFound or SocketError.NoData => ReplyCode.HostUnreachable,
        SocketError.NetworkUnreachable or SocketError.NetworkDown => ReplyCode.NetworkUnreachable,
        SocketError.TimedOut => ReplyCode.TtlExpired,
        SocketError.AccessDenied => ReplyCode.ConnectionNotAllowed,
        _ => ReplyCode.GeneralFailure,
    };

    /// <summary>
    /// When every address failed, the most telling failure wins: a refusal proves the host is there, so it says more
    /// than "unreachable", which says more than a generic error.
    /// </summary>
    public static int Rank(SocketError error) => FromSocketError(error) switch
    {
        ReplyCode.ConnectionRefused => 5,
        ReplyCode.HostUnreachable => 4,
        ReplyCode.NetworkUnreachable => 3,
        ReplyCode.TtlExpired => 2,
        ReplyCode.ConnectionNotAllowed => 1,
        _ => 0,
    };
}
