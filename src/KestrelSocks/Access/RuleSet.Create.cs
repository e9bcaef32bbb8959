using System.Collections.Frozen;
using System.Net;
using KestrelSocks.Configuration;

namespace KestrelSocks.Access;

internal sealed partial class RuleSet
{
    private const string Key = $"{KestrelSocksOptions.SectionName}:Access";
    private const int MaxNameLength = 64;

    private static readonly FrozenSet<string> _reserved = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        DefaultRule, GuardRule, SelfRule, DeniedDestinationsRule, AllowedDestinationsRule);

    /// <summary>
    /// Compiles <paramref name="options"/>, or returns null and adds to <paramref name="errors"/> one message per problem,
    /// each naming its setting (<c>KestrelSocks:Access:Rules:3:Ports:0</c>) and saying how to fix it. The start-up
    /// validator and a reload both come here, so they cannot disagree.
    /// </summary>
    public static RuleSet? Create(AccessOptions options, SelfEndPoints self, List<string> errors)
    {
        var before = errors.Count;
        var defaultAllow = ParseAction(errors, $"{Key}:DefaultAction", options.DefaultAction) ?? true;

        // The two lists of old: refusals ahead of every rule, exactly as they behaved before rules existed.
        var rules = new List<AccessRule>();
        var denied = ParseNetworks(errors, $"{Key}:DeniedDestinations", options.DeniedDestinations);
        if (denied.Length > 0)
        {
            rules.Add(new AccessRule(DeniedDestinationsRule, allow: false, [], null, null, AccessCommand.None, denied, [], []));
        }

        var allowed = ParseNetworks(errors, $"{Key}:AllowedDestinations", options.AllowedDestinations);
        if (allowed.Length > 0)
        {
            rules.Add(new AccessRule(AllowedDestinationsRule, allow: false, [], null, null, AccessCommand.None, allowed, [], [], destinationsNegated: true));
        }

        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Rules.Count; i++)
        {
            if (CreateRule(errors, $"{Key}:Rules:{i}", i, options.Rules[i], names) is { } rule)
            {
                rules.Add(rule);
            }
        }

        return errors.Count == before ? new RuleSet([.. rules], defaultAllow, options.EgressGuard, self) : null;
    }

    private static AccessRule? CreateRule(List<string> errors, string key, int index, AccessRuleOptions options, Dictionary<string, int> names)
    {
        var before = errors.Count;
        var name = options.Name?.Trim() ?? "";
        if (name.Length == 0)
        {
            errors.Add($"{key}:Name is empty; every rule needs a unique name, which labels its metrics and log lines.");
        }
        else if (name.Length > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            errors.Add($"{key}:Name '{Diagnostics.LogText.Escape(name, MaxNameLength)}' must be 1 to {MaxNameLength} letters, digits, '-', '_' or '.'.");
        }
        else if (_reserved.Contains(name))
        {
            errors.Add($"{key}:Name '{name}' is reserved ({string.Join(", ", _reserved.Order(StringComparer.Ordinal))}); choose another name.");
        }
        else if (names.TryGetValue(name, out var first))
        {
            errors.Add($"{key}:Name '{name}' is also the name of {Key}:Rules:{first}; rule names must be unique (ignoring case).");
        }
        else
        {
            names[name] = index;
        }

        var allow = ParseAction(errors, $"{key}:Action", options.Action);
        var clients = ParseNetworks(errors, $"{key}:Clients", options.Clients);
        var users = ParseNames(errors, $"{key}:Users", options.Users);
        var groups = ParseNames(errors, $"{key}:Groups", options.Groups);

        var commands = AccessCommand.None;
        for (var i = 0; i < options.Commands.Length; i++)
        {
            var command = options.Commands[i]?.Trim();
            commands |= command switch
            {
                _ when string.Equals(command, "Connect", StringComparison.OrdinalIgnoreCase) => AccessCommand.Connect,
                _ when string.Equals(command, "Bind", StringComparison.OrdinalIgnoreCase) => AccessCommand.Bind,
                _ when string.Equals(command, "Udp", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(command, "UdpAssociate", StringComparison.OrdinalIgnoreCase) => AccessCommand.Udp,
                _ => Invalid(errors, $"{key}:Commands:{i} '{command}' is not a command; use Connect, Bind or Udp."),
            };
        }

        var destinations = ParseNetworks(errors, $"{key}:Destinations", options.Destinations);

        var domains = new List<DomainPattern>();
        for (var i = 0; i < options.Domains.Length; i++)
        {
            if (DomainPattern.Parse(options.Domains[i], out var error) is { } pattern)
            {
                domains.Add(pattern);
            }
            else
            {
                errors.Add($"{key}:Domains:{i} '{Diagnostics.LogText.Escape(options.Domains[i])}' {error}; use example.com, .example.com (with subdomains), *.example.com (subdomains only) or *.");
            }
        }

        var ports = new List<PortRange>();
        for (var i = 0; i < options.Ports.Length; i++)
        {
            if (PortRange.TryParse(options.Ports[i], out var range))
            {
                ports.Add(range);
            }
            else
            {
                errors.Add($"{key}:Ports:{i} '{options.Ports[i]}' is not a port or port range; use a port such as 443 or a range such as 8000-8999, within 0-65535.");
            }
        }

        if (commands == AccessCommand.Bind && (destinations.Length > 0 || domains.Count > 0 || ports.Count > 0))
        {
            errors.Add($"{key} names only the Bind command and a destination (Destinations, Domains or Ports), but BIND has no destination: the rule could never match. Drop the destination or add Connect or Udp.");
        }

        if (errors.Count != before || allow is null)
        {
            return null;
        }

        return new AccessRule(name, allow.Value, clients, users, groups, commands, destinations, [.. domains], [.. ports]);
    }

    private static AccessCommand Invalid(List<string> errors, string error)
    {
        errors.Add(error);
        return AccessCommand.None;
    }

    private static bool? ParseAction(List<string> errors, string key, string? value)
    {
        if (string.Equals(value?.Trim(), "Allow", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (string.Equals(value?.Trim(), "Deny", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        errors.Add($"{key} '{value}' is not an action; use Allow or Deny.");
        return null;
    }

    private static FrozenSet<string>? ParseNames(List<string> errors, string key, string[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (string.IsNullOrEmpty(values[i]))
            {
                errors.Add($"{key}:{i} is empty; give a name or remove the entry.");
            }
        }

        return values.Length == 0 ? null : values.ToFrozenSet(StringComparer.Ordinal);
    }

    internal static AddressRange[] ParseNetworks(List<string> errors, string key, string[] values)
    {
        var ranges = new AddressRange[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var value = values[i] ?? "";
            if (!IPNetwork.TryParse(value, out var network))
            {
                errors.Add($"{key}:{i} '{value}' is not a CIDR network such as 10.0.0.0/8 or fd00::/8.");
            }
            else if (!IPAddress.Parse(value.AsSpan(0, value.IndexOf('/'))).Equals(network.BaseAddress))
            {
                // IPNetwork quietly clears host bits, so a typo would widen the rule without a word.
                errors.Add($"{key}:{i} '{value}' has host bits set; write the network itself, {network}.");
            }
            else
            {
                ranges[i] = AddressRange.From(network);
            }
        }

        return ranges;
    }
}
