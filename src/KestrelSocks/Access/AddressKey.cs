using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace KestrelSocks.Access;

/// <summary>
/// An IP address as one 128-bit number, IPv4 as IPv4-mapped IPv6 (<c>::ffff:a.b.c.d</c>): an IPv4 address and its
/// mapped form are one key, which is also how a dual-mode socket dials them. Scope ids play no part.
/// </summary>
internal static class AddressKey
{
    /// <summary><c>::ffff:0:0</c> shifted right by 32: the upper 96 bits of every IPv4-mapped address.</summary>
    private static readonly UInt128 _mappedPrefix = 0xFFFF;

    public static UInt128 From(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes.Clear();
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }

        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    /// <summary>4 bytes of IPv4 or 16 of IPv6, as they come in a SOCKS header.</summary>
    public static UInt128 From(ReadOnlySpan<byte> address)
    {
        if (address.Length == 4)
        {
            return ((UInt128)0xFFFF << 32) | BinaryPrimitives.ReadUInt32BigEndian(address);
        }

        return BinaryPrimitives.ReadUInt128BigEndian(address);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsIPv4(UInt128 key) => (key >> 32) == _mappedPrefix;

    public static IPAddress ToIPAddress(UInt128 key)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
        return IsIPv4(key) ? new IPAddress(bytes[12..]) : new IPAddress(bytes);
    }
}
