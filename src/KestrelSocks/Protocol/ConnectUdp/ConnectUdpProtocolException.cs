using System.Diagnostics.CodeAnalysis;

namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>Bytes that can never become a valid capsule or HTTP Datagram. "Need more bytes" is never an exception.</summary>
internal sealed class ConnectUdpProtocolException : Exception
{
    public ConnectUdpProtocolException(ConnectUdpError error)
        : base(GetMessage(error))
    {
        Error = error;
    }

    public ConnectUdpError Error { get; }

    private static string GetMessage(ConnectUdpError error) => error switch
    {
        ConnectUdpError.CapsuleTooLong => "The capsule is longer than the server accepts.",
        ConnectUdpError.DatagramMissingContextId => "The HTTP Datagram payload ends before its Context ID.",
        _ => error.ToString(),
    };

    [DoesNotReturn]
    public static void Throw(ConnectUdpError error) => throw new ConnectUdpProtocolException(error);
}
