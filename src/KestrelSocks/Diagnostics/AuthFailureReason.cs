namespace KestrelSocks.Diagnostics;

/// <summary>
/// How a username/password authentication failed. Tagged as <c>socks.auth_failure</c>. A wrong password and an
/// unknown name are deliberately one value: telling them apart would tell a guesser which names exist.
/// </summary>
internal enum AuthFailureReason
{
    /// <summary>Wrong name or password, answered without delay.</summary>
    Failed,

    /// <summary>Wrong name or password, answered after the client address's failure delay.</summary>
    Throttled,

    /// <summary>Refused without a password check: the client address is blocked.</summary>
    Blocked,
}
