using System.Net;
using KestrelSocks.Configuration;
using Microsoft.Extensions.Options;
using KestrelSocks.Sockets;

namespace KestrelSocks.Access;

/// <summary>Which destinations clients may reach. Refusals become REP 02, "connection not allowed by ruleset".</summary>
internal sealed class DestinationPolicy
{
    private readonly IPNetwork[] _allowed;
    private readonly IPNetwork[] _denied;

    public DestinationPolicy(IOptions<KestrelSocksOptions> options)
    {
        var access = options.Value.Access;
        _allowed = Array.ConvertAll(access.AllowedDestinations, IPNetwork.Parse);
        _denied = Array.ConvertAll(access.DeniedDestinations, IPNetwork.Parse);
    }

    public bool IsAllowed(IPAddress address)
    {
        address = address.Unmap();

        // 0.0.0.0 and :: are never a destination (RFC 1122 section 3.2.1.3, RFC 4291 section 2.5.2), yet a connect to
        // them reaches this host itself: allowing them would walk around every rule that keeps clients off loopback.
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return false;
        }

        if (_allowed.Length > 0 && !Matches(_allowed, address))
        {
            return false;
        }

        return !Matches(_denied, address);
    }

    private static bool Matches(IPNetwork[] networks, IPAddress address)
    {
        foreach (var network in networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
