namespace KestrelSocks.Protocol;

/// <summary>Fixed values and size limits of RFC 1928 and RFC 1929.</summary>
internal static class Socks5Constants
{
    public const byte Version = 0x05;
    public const byte UsernamePasswordVersion = 0x01;
    public const byte Reserved = 0x00;

    /// <summary>VER NMETHODS METHODS[255].</summary>
    public const int MaxGreetingLength = 2 + 255;

    /// <summary>VER ULEN UNAME[255] PLEN PASSWD[255].</summary>
    public const int MaxUsernamePasswordLength = 1 + 1 + 255 + 1 + 255;

    /// <summary>VER CMD RSV ATYP LEN DOMAIN[255] PORT[2]: the longest request or reply.</summary>
    public const int MaxRequestLength = 4 + 1 + 255 + 2;

    /// <summary>ATYP, the longest address (a 255-byte domain with its length byte) and the port.</summary>
    public const int MaxAddressLength = 1 + 1 + 255 + 2;
}
