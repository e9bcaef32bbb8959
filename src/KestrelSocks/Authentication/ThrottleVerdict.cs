namespace KestrelSocks.Authentication;

/// <summary>What the throttle lets an authentication attempt from a client address do.</summary>
internal enum ThrottleVerdict
{
    /// <summary>Check the password now.</summary>
    Proceed,

    /// <summary>Wait the given time, then check the password.</summary>
    Delay,

    /// <summary>Refuse without a password check: the address is blocked.</summary>
    Blocked,
}
