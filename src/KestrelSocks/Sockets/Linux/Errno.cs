using System.Net.Sockets;

namespace KestrelSocks.Sockets.Linux;

/// <summary>The Linux errno values the native calls here look at, and what each means as a <see cref="SocketError"/>.</summary>
internal static class Errno
{
    public const int Interrupted = 4;
    public const int BadDescriptor = 9;
    public const int Again = 11;
    public const int BrokenPipe = 32;
    public const int MessageSize = 90;
    public const int NetworkUnreachable = 101;
    public const int ConnectionReset = 104;
    public const int NoBufferSpace = 105;
    public const int ConnectionRefused = 111;
    public const int HostUnreachable = 113;

    public static SocketError ToSocketError(int errno) => errno switch
    {
        Again => SocketError.WouldBlock,
        MessageSize => SocketError.MessageSize,
        ConnectionRefused => SocketError.ConnectionRefused,
        ConnectionReset => SocketError.ConnectionReset,
        NetworkUnreachable => SocketError.NetworkUnreachable,
        HostUnreachable => SocketError.HostUnreachable,
        NoBufferSpace => SocketError.NoBufferSpaceAvailable,
        BadDescriptor => SocketError.OperationAborted,
        _ => SocketError.SocketError,
    };
}
