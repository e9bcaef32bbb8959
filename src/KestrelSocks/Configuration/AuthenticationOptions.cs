namespace KestrelSocks.Configuration;

/// <summary>Which RFC 1928 methods the server accepts, the RFC 1929 users, and how password guessing is slowed.</summary>
internal sealed class AuthenticationOptions
{
    /// <summary>
    /// Method 00: no authentication. Unset means on when every SOCKS listener is a loopback address and off otherwise:
    /// a proxy reachable from a network takes anonymous clients only when told to in so many words.
    /// </summary>
    public bool? AllowAnonymous { get; set; }

    /// <summary>Method 02: RFC 1929 username/password, checked against <see cref="Users"/> and <see cref="UsersFile"/>.</summary>
    public bool UsernamePassword { get; set; }

    /// <summary>Accounts with plaintext passwords; kept working, but a warning asks for a users file instead.</summary>
    public List<SocksUser> Users { get; set; } = [];

    /// <summary>A file of <c>name:hash[:groups]</c> lines, relative to the content root; re-read when it changes.</summary>
    public string? UsersFile { get; set; }

    /// <summary>
    /// PBKDF2 iterations for the plaintext <see cref="Users"/> (hashed in memory at start) and for the dummy hash an
    /// unknown name is checked against, so that it costs what a known one does.
    /// </summary>
    public int HashIterations { get; set; } = Authentication.PasswordHash.DefaultIterations;

    /// <summary>Password checks running at once; 0 means half the processors (at least one). Others wait their turn.</summary>
    public int MaxConcurrentVerifications { get; set; }

    /// <summary>
    /// How long credentials that passed a full check are accepted again without one (keyed by an HMAC under a
    /// per-process key; failures are never remembered). Zero checks every login in full.
    /// </summary>
    public TimeSpan RecentLoginTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Failed attempts from one client address (IPv6: its /64) answered without delay.</summary>
    public int FailuresBeforeDelay { get; set; } = 5;

    /// <summary>The wait before the first delayed attempt; it doubles with each further failure.</summary>
    public TimeSpan FailureDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxFailureDelay { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>Failures after which the address is refused without a password check for <see cref="BlockDuration"/>.</summary>
    public int FailuresBeforeBlock { get; set; } = 20;

    public TimeSpan BlockDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>An address whose last failure is older than this starts again from zero.</summary>
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Client addresses tracked at once; past it the least recently failed is forgotten.</summary>
    public int MaxTrackedClients { get; set; } = 65_536;

    /// <summary>Failed-authentication log lines per second; the rest are counted and summed up in the next line.</summary>
    public int FailureLogsPerSecond { get; set; } = 10;
}
