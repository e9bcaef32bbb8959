namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// Why a connect-udp request path names no target this server will proxy to. Every value is a client fault the HTTP
/// layer answers with 400 (RFC 9298 section 3: a malformed request).
/// </summary>
internal enum ConnectUdpPathError
{
    /// <summary>The path parsed: not an error.</summary>
    None,

    /// <summary>The path does not start with the default template's "/.well-known/masque/udp/".</summary>
    NotUdpProxyingPath,

    /// <summary>The path ends before the host, the port, or the slash that ends the template.</summary>
    MissingSegment,

    /// <summary>Something follows the slash after the port: another segment, or a query.</summary>
    ExtraSegment,

    /// <summary>A "%" not followed by two hexadecimal digits, or a character that is not ASCII.</summary>
    InvalidPercentEncoding,

    /// <summary>The host segment is empty.</summary>
    EmptyHost,

    /// <summary>The host decodes to more than 255 bytes.</summary>
    HostTooLong,

    /// <summary>
    /// The host is neither an IPv4 dotted quad, nor an IPv6 address, nor a DNS name of letters, digits and hyphens in
    /// non-empty labels of at most 63 bytes.
    /// </summary>
    InvalidHost,

    /// <summary>The port is not a decimal number from 1 to 65535 without leading zeros.</summary>
    InvalidPort,
}
