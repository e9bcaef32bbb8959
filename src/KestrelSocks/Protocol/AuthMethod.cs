namespace KestrelSocks.Protocol;

/// <summary>METHOD values of RFC 1928 section 3.</summary>
internal enum AuthMethod : byte
{
    NoAuthentication = 0x00,
    Gssapi = 0x01,
    UsernamePassword = 0x02,
    NoAcceptableMethods = 0xFF,
}
