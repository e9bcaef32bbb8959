using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.Sockets;

/// <summary>
/// Who a per-client limit or throttle counts against: an IPv4 address (IPv4-mapped ones too), or the /64 of an IPv6
/// one (a single subscriber is typically given a whole /64, and would otherwise have 2^64 addresses to spread over).
/// </summary>
internal readonly record struct ClientKey(ulong High, ulong Low)
{
    public static ClientKey From(IPAddress? address)
    {
        if (address is null)
        {
            return default;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        address.TryWriteBytes(bytes, out var written);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // Marked so 1.2.3.4 cannot share a slot with an IPv6 /64 whose first bytes happen to be 1.2.3.4.
            return new ClientKey(0, 0x1_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        return new ClientKey(BinaryPrimitives.ReadUInt64BigEndian(bytes), 0);
    }
}
