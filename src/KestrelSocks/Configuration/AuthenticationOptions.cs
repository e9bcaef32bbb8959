namespace KestrelSocks.Configuration;

/// <summary>Which RFC 1928 methods the server accepts, and the RFC 1929 users.</summary>
internal sealed class AuthenticationOptions
{
    /// <summary>
    /// Method 00: no authentication. Unset means on when every SOCKS listener is a loopback address and off otherwise:
    /// a proxy reachable from a network takes anonymous clients only when told to in so many words.
    /// </summary>
    public bool? AllowAnonymous { get; set; }

    /// <summary>Method 02: RFC 1929 username/password, checked against <see cref="Users"/>.</summary>
    public bool UsernamePassword { get; set; }

    public List<SocksUser> Users { get; set; } = [];
}
