namespace KestrelSocks.Protocol;

/// <summary>
/// The outcome of reading a UDP request header. Datagram parsing reports faults as values, not exceptions:
/// a malformed datagram is dropped and counted, and a flood of them must not cost a throw each.
/// </summary>
internal enum UdpHeaderStatus
{
    Valid,
    Truncated,
    InvalidReserved,
    UnsupportedAddressType,
    EmptyDomainName,
}
