namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// Capsule types (IANA "HTTP Capsule Types"). Any 62-bit value can arrive; the ones not named here are skipped by
/// the receiver (RFC 9297 section 3.2).
/// </summary>
internal enum CapsuleType : ulong
{
    /// <summary>DATAGRAM (RFC 9297 section 3.5): an HTTP Datagram carried on the request stream.</summary>
    Datagram = 0x00,
}
