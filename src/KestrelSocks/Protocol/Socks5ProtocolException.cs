namespace KestrelSocks.Protocol;

/// <summary>Bytes that can never become a valid message. "Need more bytes" is never an exception.</summary>
internal sealed class Socks5ProtocolException : Exception
{
    public Socks5ProtocolException(Socks5Error error)
        : base(GetMessage(error))
    {
        Error = error;
    }

    public Socks5Error Error { get; }

    private static string GetMessage(Socks5Error error) => error switch
    {
        Socks5Error.InvalidVersion => "The message does not start with SOCKS version 5.",
        Socks5Error.InvalidSubnegotiationVersion => "The username/password sub-negotiation does not start with version 1.",
        Socks5Error.InvalidReserved => "The reserved field is not zero.",
        Socks5Error.UnsupportedAddressType => "The address type is not IPv4 (1), domain name (3) or IPv6 (4).",
        Socks5Error.EmptyDomainName => "The domain name is empty.",
        _ => error.ToString(),
    };

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Throw(Socks5Error error) => throw new Socks5ProtocolException(error);
}
