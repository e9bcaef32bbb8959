namespace KestrelSocks.Configuration;

/// <summary>How CONNECT reaches a destination.</summary>
internal sealed class ConnectOptions
{
    /// <summary>RFC 8305 "Connection Attempt Delay": the head start each address gets before the next is tried.</summary>
    public TimeSpan HappyEyeballsDelay { get; set; } = TimeSpan.FromMilliseconds(250);
}
