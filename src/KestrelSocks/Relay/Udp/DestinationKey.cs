using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace KestrelSocks.Relay.Udp;

/// <summary>An IP destination as a dictionary key: the address (IPv4 as IPv4-mapped IPv6) and the port.</summary>
internal readonly record struct DestinationKey(UInt128 Address, ushort Port)
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DestinationKey Create(ReadOnlySpan<byte> address, ushort port)
    {
        Span<byte> mapped = stackalloc byte[16];
        if (address.Length == 4)
        {
            mapped[10] = 0xFF;
            mapped[11] = 0xFF;
            address.CopyTo(mapped[12..]);
        }
        else
        {
            address.CopyTo(mapped);
        }

        return new DestinationKey(BinaryPrimitives.ReadUInt128BigEndian(mapped), port);
    }
}
