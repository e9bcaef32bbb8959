namespace KestrelSocks.Protocol;

/// <summary>Why a message was rejected. Each value is a distinct wire fault, so metrics can tell them apart.</summary>
internal enum Socks5Error
{
    InvalidVersion,
    InvalidSubnegotiationVersion,
    InvalidReserved,
    UnsupportedAddressType,
    EmptyDomainName,
}
