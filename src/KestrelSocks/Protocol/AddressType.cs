namespace KestrelSocks.Protocol;

/// <summary>ATYP values of RFC 1928 section 5.</summary>
internal enum AddressType : byte
{
    IPv4 = 0x01,
    DomainName = 0x03,
    IPv6 = 0x04,
}
