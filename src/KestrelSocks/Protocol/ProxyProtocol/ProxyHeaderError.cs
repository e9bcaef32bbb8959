namespace KestrelSocks.Protocol.ProxyProtocol;

/// <summary>Why bytes at the start of a connection are not a PROXY protocol header this server accepts.</summary>
internal enum ProxyHeaderError
{
    /// <summary>The bytes start with neither the v1 ("PROXY ") nor the v2 signature.</summary>
    MissingSignature,

    /// <summary>A v1 line that does not follow the grammar: tokens, separators, addresses or ports.</summary>
    InvalidLine,

    /// <summary>A v1 line without CRLF within 107 bytes, or a v2 header longer than the server reads.</summary>
    TooLong,

    /// <summary>A v2 header whose version is not 2.</summary>
    InvalidVersion,

    /// <summary>A v2 header whose command is neither LOCAL nor PROXY.</summary>
    InvalidCommand,

    /// <summary>A v2 address family or transport byte the specification does not define.</summary>
    InvalidFamily,

    /// <summary>A v2 header whose length cannot hold the addresses of its family.</summary>
    AddressesTruncated,

    /// <summary>A v2 PROXY header for a datagram transport or a UNIX socket: nothing a SOCKS client can have sent.</summary>
    UnsupportedFamily,
}
