namespace KestrelSocks.Diagnostics;

/// <summary>Why a connection to a PROXY protocol listener was closed before its SOCKS greeting was read.</summary>
internal enum ProxyHeaderRejectReason
{
    /// <summary>The peer is not in <c>ProxyProtocol:TrustedNetworks</c>: closed before a byte is read.</summary>
    Untrusted,

    /// <summary>The connection does not start with a PROXY protocol signature (a client that went around the balancer).</summary>
    Missing,

    /// <summary>A signature followed by bytes that do not follow the format.</summary>
    Malformed,

    /// <summary>A well-formed v2 header for a client no SOCKS connection can have: UDP or a UNIX socket.</summary>
    Unsupported,

    /// <summary>A v1 line or v2 header longer than the server reads.</summary>
    Oversized,

    /// <summary>The peer closed the connection inside its header.</summary>
    Truncated,

    /// <summary>No whole header within <c>ProxyProtocol:HeaderTimeout</c>.</summary>
    Timeout,
}
