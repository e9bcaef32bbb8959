namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// Why bytes on a connect-udp request stream are malformed (RFC 9297 section 3.3: the stream is then aborted). Each
/// value is a fault of the peer; "need more bytes" is never one.
/// </summary>
internal enum ConnectUdpError
{
    /// <summary>A capsule whose Length field exceeds the most this server buffers for one capsule.</summary>
    CapsuleTooLong,

    /// <summary>A DATAGRAM capsule (or HTTP/3 datagram) whose payload ends before its Context ID does.</summary>
    DatagramMissingContextId,
}
