namespace KestrelSocks.Authentication;

/// <summary>Who a session authenticated as: the account name and the groups access rules can match.</summary>
internal sealed class UserIdentity
{
    public UserIdentity(string name, string[] groups)
    {
        Name = name;
        Groups = groups;
    }

    public string Name { get; }

    public string[] Groups { get; }

    public override string ToString() => $"UserIdentity({Name})";
}
