namespace KestrelSocks.Configuration;

/// <summary>One RFC 1929 account. The password is a secret: it is never logged, and never printed by validation.</summary>
internal sealed class SocksUser
{
    public string Username { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary>Groups that access rules can match.</summary>
    public string[] Groups { get; set; } = [];

    public override string ToString() => $"SocksUser({Username})";
}
