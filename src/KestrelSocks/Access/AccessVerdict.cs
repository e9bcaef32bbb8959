namespace KestrelSocks.Access;

/// <summary>Allowed or not, and by which rule: a configured rule's name, or a reserved one (<see cref="RuleSet"/>).</summary>
internal readonly record struct AccessVerdict(bool IsAllowed, string Rule)
{
    public static AccessVerdict Allow(string rule) => new(true, rule);

    public static AccessVerdict Deny(string rule) => new(false, rule);
}
