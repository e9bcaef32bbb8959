namespace KestrelSocks.Authentication;

/// <summary>One account: its identity and its password hash.</summary>
internal sealed class UserAccount
{
    public UserAccount(UserIdentity identity, PasswordHash hash)
    {
        Identity = identity;
        Hash = hash;
    }

    public UserIdentity Identity { get; }

    public PasswordHash Hash { get; }

    public override string ToString() => $"UserAccount({Identity.Name})";
}
