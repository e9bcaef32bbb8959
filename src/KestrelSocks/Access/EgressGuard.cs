using System.Runtime.CompilerServices;

namespace KestrelSocks.Access;

/// <summary>
/// The destinations a proxy reachable from a network must not reach by default, because they lead back into this host
/// or the network it sits in: loopback, unspecified, link-local (cloud metadata at 169.254.169.254), private and
/// unique-local, CGNAT shared space, multicast, broadcast and reserved, deprecated site-local; and the IPv6 forms that
/// carry a guarded IPv4 address: IPv4-mapped, IPv4-compatible, IPv4-translated (SIIT), NAT64 and 6to4. The local-use
/// NAT64 prefix 64:ff9b:1::/48 is guarded whole: where it carries the IPv4 address depends on the prefix length its
/// operator chose. Documentation ranges are left alone: nothing routes them.
/// </summary>
internal static class EgressGuard
{
    private static readonly (uint Network, uint Mask, int PrefixLength)[] _ipv4 =
    [
        Range4(0x00000000, 8),    // 0.0.0.0/8, "this network" (RFC 1122): 0.x.x.x reaches this host
        Range4(0x0A000000, 8),    // 10.0.0.0/8, private (RFC 1918)
        Range4(0x64400000, 10),   // 100.64.0.0/10, CGNAT shared space (RFC 6598)
        Range4(0x7F000000, 8),    // 127.0.0.0/8, loopback
        Range4(0xA9FE0000, 16),   // 169.254.0.0/16, link-local (RFC 3927), cloud metadata
        Range4(0xAC100000, 12),   // 172.16.0.0/12, private
        Range4(0xC0A80000, 16),   // 192.168.0.0/16, private
        Range4(0xE0000000, 4),    // 224.0.0.0/4, multicast
        Range4(0xF0000000, 4),    // 240.0.0.0/4, reserved, and 255.255.255.255 broadcast
    ];

    private static readonly AddressRange[] _ipv6 =
    [
        new(UInt128.Zero, 128),                                        // ::/128, unspecified
        new(UInt128.One, 128),                                         // ::1/128, loopback
        new((UInt128)0xFE80 << 112, 10),                               // fe80::/10, link-local
        new((UInt128)0xFEC0 << 112, 10),                               // fec0::/10, site-local (deprecated, RFC 3879)
        new((UInt128)0xFC00 << 112, 7),                                // fc00::/7, unique-local (RFC 4193)
        new((UInt128)0xFF00 << 112, 8),                                // ff00::/8, multicast
        new(((UInt128)0x0064_FF9B << 96) | ((UInt128)0x0001 << 80), 48), // 64:ff9b:1::/48, local-use NAT64 (RFC 8215)
    ];

    // The upper 96 bits of the forms that carry an IPv4 address in their lowest 32.
    private static readonly UInt128 _compatible = UInt128.Zero;               // ::/96 (RFC 4291, deprecated)
    private static readonly UInt128 _translated = (UInt128)0xFFFF_0000;       // ::ffff:0:0:0/96 (RFC 2765)
    private static readonly UInt128 _nat64 = (UInt128)0x0064_FF9B << 64;      // 64:ff9b::/96 (RFC 6052)

    /// <summary>
    /// True when <paramref name="address"/> (an <see cref="AddressKey"/>) is guarded; <paramref name="prefixLength"/> is
    /// then that of the guarded block holding it, out of 128 bits in the address's own form (127.0.0.1 is in a /104,
    /// 2002:7f00:1:: in a /24), for <see cref="AccessRule.Opens"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool IsGuarded(UInt128 address, out int prefixLength)
    {
        var upper = address >> 32;
        if (AddressKey.IsIPv4(address))
        {
            return IsGuardedIPv4((uint)address, 96, out prefixLength);
        }

        foreach (var range in _ipv6)
        {
            if (range.Contains(address))
            {
                prefixLength = range.PrefixLength;
                return true;
            }
        }

        if (upper == _compatible || upper == _translated || upper == _nat64)
        {
            return IsGuardedIPv4((uint)address, 96, out prefixLength);
        }

        if ((ushort)(address >> 112) == 0x2002)
        {
            // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 is the site behind IPv4 AA.BB.CC.DD.
            return IsGuardedIPv4((uint)(address >> 80), 16, out prefixLength);
        }

        prefixLength = 0;
        return false;
    }

    private static bool IsGuardedIPv4(uint address, int offset, out int prefixLength)
    {
        foreach (var (network, mask, length) in _ipv4)
        {
            if ((address & mask) == network)
            {
                prefixLength = offset + length;
                return true;
            }
        }

        prefixLength = 0;
        return false;
    }

    private static (uint Network, uint Mask, int PrefixLength) Range4(uint network, int prefixLength) =>
        (network, uint.MaxValue << (32 - prefixLength), prefixLength);
}
