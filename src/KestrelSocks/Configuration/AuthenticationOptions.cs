namespace KestrelSocks.Configuration;

/// <summary>Which RFC 1928 methods the server accepts, and the RFC 1929 users.</summary>
internal sealed class AuthenticationOptions
{
    /// <summary>Method 00: no authentication. On by default, for the loopback-only default listener.</summary>
    public bool AllowAnonymous { get; set; } = true;

    /// <summary>Method 02: RFC 1929 username/password, checked against <see cref="Users"/>.</summary>
    public bool UsernamePassword { get; set; }

    public List<SocksUser> Users { get; set; } = [];
}
