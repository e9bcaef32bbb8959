using System.Collections.Frozen;

namespace KestrelSocks.Access;

/// <summary>
/// One compiled rule: its conditions parsed once into matchers. An empty condition matches anything. Immutable, so a
/// <see cref="RuleSet"/> holding it can be shared by every thread.
/// </summary>
internal sealed class AccessRule
{
    private readonly AddressRange[] _clients;
    private readonly FrozenSet<string>? _users;
    private readonly FrozenSet<string>? _groups;
    private readonly AccessCommand _commands;
    private readonly AddressRange[] _destinations;
    private readonly DomainPattern[] _domains;
    private readonly PortRange[] _ports;
    private readonly bool _destinationsNegated;

    /// <param name="destinationsNegated">Match the addresses outside <paramref name="destinations"/> (the AllowedDestinations shorthand).</param>
    public AccessRule(string name, bool allow, AddressRange[] clients, FrozenSet<string>? users, FrozenSet<string>? groups,
        AccessCommand commands, AddressRange[] destinations, DomainPattern[] domains, PortRange[] ports, bool destinationsNegated = false)
    {
        Name = name;
        Allow = allow;
        _clients = clients;
        _users = users;
        _groups = groups;
        _commands = commands;
        _destinations = destinations;
        _domains = domains;
        _ports = ports;
        _destinationsNegated = destinationsNegated;
        HasDestinationCondition = destinations.Length > 0 || domains.Length > 0 || ports.Length > 0;
    }

    public string Name { get; }

    public bool Allow { get; }

    public bool HasDestinationCondition { get; }

    public bool HasDomainCondition => _domains.Length > 0;

    public bool HasAddressCondition => _destinations.Length > 0;

    /// <summary>
    /// Against what the request phase knows: <see cref="Match.Unknown"/> when only a destination address (or, for a UDP
    /// association, any destination) can tell.
    /// </summary>
    public Match MatchRequest(in AccessRequest request)
    {
        if (!MatchesWho(request))
        {
            return Match.No;
        }

        switch (request.Destination)
        {
            case AccessDestination.None:
                return HasDestinationCondition ? Match.No : Match.Yes;
            case AccessDestination.Later:
                return HasDestinationCondition ? Match.Unknown : Match.Yes;
            default:
                if (!MatchesPortAndDomain(request))
                {
                    return Match.No;
                }

                return _destinations.Length > 0 ? Match.Unknown : Match.Yes;
        }
    }

    /// <summary>Every condition, with the destination known (<see cref="AccessDestination.Known"/>) and resolved to <paramref name="address"/>.</summary>
    public bool Matches(in AccessRequest request, UInt128 address) =>
        MatchesWho(request)
        && MatchesPortAndDomain(request)
        && (_destinations.Length == 0 || AddressRange.AnyContains(_destinations, address) != _destinationsNegated);

    /// <summary>
    /// Whether this rule, having matched <paramref name="address"/>, opens it past the egress guard: only a network it
    /// names that lies wholly inside the guarded block does, so <c>0.0.0.0/0</c> opens nothing guarded.
    /// </summary>
    public bool Opens(UInt128 address, int guardedPrefixLength)
    {
        if (!Allow || _destinationsNegated)
        {
            return false;
        }

        foreach (var range in _destinations)
        {
            if (range.PrefixLength >= guardedPrefixLength && range.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private bool MatchesWho(in AccessRequest request)
    {
        if (_commands != AccessCommand.None && (_commands & request.Command) == 0)
        {
            return false;
        }

        if (_clients.Length > 0 && (request.Client is not { } client || !AddressRange.AnyContains(_clients, client)))
        {
            return false;
        }

        if (_users is not null && (request.User is not { } user || !_users.Contains(user)))
        {
            return false;
        }

        if (_groups is not null)
        {
            foreach (var group in request.Groups)
            {
                if (_groups.Contains(group))
                {
                    return true;
                }
            }

            return false;
        }

        return true;
    }

    private bool MatchesPortAndDomain(in AccessRequest request)
    {
        if (request.Destination != AccessDestination.Known)
        {
            return !HasDestinationCondition;
        }

        if (_ports.Length > 0)
        {
            var found = false;
            foreach (var range in _ports)
            {
                if (range.Contains(request.Port))
                {
                    found = true;
                    break;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        if (_domains.Length > 0)
        {
            if (request.Domain.IsEmpty)
            {
                return false;
            }

            foreach (var pattern in _domains)
            {
                if (pattern.Matches(request.Domain))
                {
                    return true;
                }
            }

            return false;
        }

        return true;
    }

    public enum Match
    {
        No,
        Yes,
        Unknown,
    }
}
