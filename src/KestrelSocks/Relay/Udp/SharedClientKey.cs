using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Sockets;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// A client's address and port on the shared UDP port, IPv4 as IPv4-mapped IPv6, in a form that is built from a
/// received datagram's sockaddr without allocating and compared in three machine words.
/// </summary>
internal readonly struct SharedClientKey : IEquatable<SharedClientKey>
{
    private const ulong MappedPrefix = 0x0000_FFFF_0000_0000;

    private readonly ulong _high;
    private readonly ulong _low;
    private readonly int _port;

    private SharedClientKey(ulong high, ulong low, int port)
    {
        _high = high;
        _low = low;
        _port = port;
    }

    public int Port => _port;

    /// <summary>The same address with port 0: the key of the clients waiting to have their port learnt.</summary>
    public SharedClientKey AddressOnly => new(_high, _low, 0);

    public static SharedClientKey From(IPAddress address, int port)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.MapToIPv6().TryWriteBytes(bytes, out _);
        return new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), port);
    }

    /// <summary>From a native sockaddr received on a socket of <paramref name="family"/> (sockaddr_in or sockaddr_in6).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SharedClientKey From(AddressFamily family, ReadOnlySpan<byte> name)
    {
        var port = BinaryPrimitives.ReadUInt16BigEndian(name[2..]);
        return family == AddressFamily.InterNetworkV6
            ? new(BinaryPrimitives.ReadUInt64BigEndian(name[8..]), BinaryPrimitives.ReadUInt64BigEndian(name[16..]), port)
            : new(0, MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(name[4..]), port);
    }

    public bool Equals(SharedClientKey other) => _low == other._low && _port == other._port && _high == other._high;

    public override bool Equals(object? obj) => obj is SharedClientKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, _port);

    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, _high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _low);
        return new IPEndPoint(new IPAddress(bytes).Unmap(), _port).ToString();
    }
}
