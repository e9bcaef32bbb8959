namespace KestrelSocks.Protocol;

/// <summary>CMD values of RFC 1928 section 4. A request may carry any byte; the session answers 07 to the rest.</summary>
internal enum Socks5Command : byte
{
    Connect = 0x01,
    Bind = 0x02,
    UdpAssociate = 0x03,
}
