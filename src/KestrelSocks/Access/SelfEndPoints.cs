using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace KestrelSocks.Access;

/// <summary>
/// The proxy's own listeners, SOCKS and admin, as destinations no rule can open: a client must never reach the admin
/// endpoint (metrics, health) or loop the proxy into itself. A listener on a wildcard address is reached at its port on
/// any address of this host: loopback and every interface address known when the set was made. 0.0.0.0 and :: are
/// this host at any port.
/// </summary>
internal sealed class SelfEndPoints
{
    private static readonly UInt128 _ipv4Any = AddressKey.From(IPAddress.Any);

    private readonly (UInt128 Address, int Port)[] _exact;
    private readonly int[] _wildcardPorts;
    private readonly UInt128[] _localAddresses;

    private SelfEndPoints((UInt128, int)[] exact, int[] wildcardPorts, UInt128[] localAddresses)
    {
        _exact = exact;
        _wildcardPorts = wildcardPorts;
        _localAddresses = localAddresses;
    }

    public static SelfEndPoints None { get; } = new([], [], []);

    public static SelfEndPoints Create(IEnumerable<IPEndPoint> endPoints)
    {
        var exact = new List<(UInt128, int)>();
        var wildcard = new List<int>();
        foreach (var endPoint in endPoints)
        {
            if (endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                wildcard.Add(endPoint.Port);
            }
            else
            {
                exact.Add((AddressKey.From(endPoint.Address), endPoint.Port));
            }
        }

        return new SelfEndPoints([.. exact], [.. wildcard.Distinct()], wildcard.Count == 0 ? [] : GetLocalAddresses());
    }

    public bool Contains(UInt128 address, int port)
    {
        if (address == UInt128.Zero || address == _ipv4Any)
        {
            return true;
        }

        foreach (var (selfAddress, selfPort) in _exact)
        {
            if (selfPort == port && selfAddress == address)
            {
                return true;
            }
        }

        if (Array.IndexOf(_wildcardPorts, port) < 0)
        {
            return false;
        }

        // Loopback whole: 127.0.0.2 reaches a wildcard listener as surely as 127.0.0.1 does.
        if (address == UInt128.One || (AddressKey.IsIPv4(address) && (byte)(address >> 24) == 127))
        {
            return true;
        }

        return Array.IndexOf(_localAddresses, address) >= 0;
    }

    private static UInt128[] GetLocalAddresses()
    {
        try
        {
            return
            [
                .. NetworkInterface.GetAllNetworkInterfaces()
                    .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                    .Where(a => a.Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                    .Select(a => AddressKey.From(a.Address))
                    .Distinct(),
            ];
        }
        catch (NetworkInformationException)
        {
            // Loopback is still covered; an interface address then relies on the egress guard and the rules.
            return [];
        }
    }
}
