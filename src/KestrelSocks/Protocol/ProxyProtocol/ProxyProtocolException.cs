using System.Diagnostics.CodeAnalysis;

namespace KestrelSocks.Protocol.ProxyProtocol;

/// <summary>Bytes that can never become an accepted PROXY protocol header. "Need more bytes" is never an exception.</summary>
internal sealed class ProxyProtocolException : Exception
{
    public ProxyProtocolException(ProxyHeaderError error)
        : base(GetMessage(error))
    {
        Error = error;
    }

    public ProxyHeaderError Error { get; }

    private static string GetMessage(ProxyHeaderError error) => error switch
    {
        ProxyHeaderError.MissingSignature => "The connection does not start with a PROXY protocol v1 or v2 signature.",
        ProxyHeaderError.InvalidLine => "The PROXY protocol v1 line does not follow the grammar.",
        ProxyHeaderError.TooLong => "The PROXY protocol header is longer than the server reads.",
        ProxyHeaderError.InvalidVersion => "The PROXY protocol v2 header is not version 2.",
        ProxyHeaderError.InvalidCommand => "The PROXY protocol v2 command is neither LOCAL nor PROXY.",
        ProxyHeaderError.InvalidFamily => "The PROXY protocol v2 address family or transport is not defined.",
        ProxyHeaderError.AddressesTruncated => "The PROXY protocol v2 header is too short for its addresses.",
        ProxyHeaderError.UnsupportedFamily => "The PROXY protocol v2 header names a datagram or UNIX socket client.",
        _ => error.ToString(),
    };

    [DoesNotReturn]
    public static void Throw(ProxyHeaderError error) => throw new ProxyProtocolException(error);
}
