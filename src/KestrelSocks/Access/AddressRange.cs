using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace KestrelSocks.Access;

/// <summary>
/// A CIDR network over <see cref="AddressKey"/> values: one mask and one compare. An IPv4 network covers exactly the
/// IPv4 addresses (and their mapped forms); an IPv6 network never covers an IPv4 address, even <c>::/0</c>, because
/// such an address is dialled over IPv4.
/// </summary>
internal readonly struct AddressRange
{
    private readonly UInt128 _network;
    private readonly UInt128 _mask;
    private readonly bool _excludesIPv4;

    public AddressRange(UInt128 network, int prefixLength)
    {
        PrefixLength = prefixLength;
        _mask = prefixLength == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - prefixLength);
        _network = network & _mask;

        // Only an IPv6 network wider than ::ffff:0:0/96 (which is IPv4 0.0.0.0/0 itself) can hold the mapped block.
        _excludesIPv4 = prefixLength < 96 && ((((UInt128)0xFFFF << 32) & _mask) == _network);
    }

    /// <summary>Bits of the prefix out of 128: an IPv4 /8 is 104.</summary>
    public int PrefixLength { get; }

    public static AddressRange From(IPNetwork network)
    {
        var ipv4 = network.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        return new AddressRange(AddressKey.From(network.BaseAddress), network.PrefixLength + (ipv4 ? 96 : 0));
    }

    public static AddressRange Parse(string cidr) => From(IPNetwork.Parse(cidr));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(UInt128 address) => (address & _mask) == _network && !(_excludesIPv4 && AddressKey.IsIPv4(address));

    public static bool AnyContains(AddressRange[] ranges, UInt128 address)
    {
        foreach (var range in ranges)
        {
            if (range.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    public override string ToString()
    {
        var address = AddressKey.ToIPAddress(_network);
        return $"{address}/{(address.AddressFamily == AddressFamily.InterNetwork ? PrefixLength - 96 : PrefixLength)}";
    }
}
