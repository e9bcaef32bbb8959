using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.Sockets;

namespace KestrelSocks.Protocol;

/// <summary>
/// DST.ADDR/DST.PORT or BND.ADDR/BND.PORT as it travels on the wire: an IPv4 or IPv6 address, or a domain name,
/// and a port. A value type with inline storage, so a parsed request owns its address without allocating.
/// </summary>
internal struct Socks5Address
{
    private AddressBuffer _bytes;
    private byte _length;

    public Socks5Address(AddressType type, ReadOnlySpan<byte> address, ushort port)
    {
        var expected = type switch
        {
            AddressType.IPv4 => 4,
            AddressType.IPv6 => 16,
            AddressType.DomainName when address.Length is > 0 and <= 255 => address.Length,
            _ => -1,
        };
        if (expected != address.Length)
        {
            throw new ArgumentException($"{address.Length} bytes is not a valid {type} address.", nameof(address));
        }

        Type = type;
        Port = port;
        _length = (byte)address.Length;
        address.CopyTo(_bytes);
    }

    public AddressType Type { get; private set; }

    public ushort Port { get; private set; }

    /// <summary>The raw address: 4 or 16 bytes of an IP address, or the domain name without its length byte.</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> AddressBytes => ((ReadOnlySpan<byte>)_bytes)[.._length];

    /// <summary>Bytes this address takes on the wire: ATYP, the address (with a length byte for a domain) and the port.</summary>
    public readonly int EncodedLength => 1 + (Type == AddressType.DomainName ? 1 : 0) + _length + 2;

    /// <summary>True for 0.0.0.0 and ::, which RFC 1928 clients send when they do not know the address yet.</summary>
    public readonly bool IsUnspecifiedIP => Type != AddressType.DomainName && !AddressBytes.ContainsAnyExcept((byte)0);

    public static Socks5Address FromEndPoint(IPEndPoint endPoint)
    {
        var address = endPoint.Address.Unmap();

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        var type = written == 4 ? AddressType.IPv4 : AddressType.IPv6;
        return new Socks5Address(type, bytes[..written], (ushort)endPoint.Port);
    }

    public static Socks5Address FromDomainName(string host, ushort port)
    {
        Span<byte> bytes = stackalloc byte[255];
        if (!Encoding.UTF8.TryGetBytes(host, bytes, out var written) || written == 0)
        {
            throw new ArgumentException("A domain name must be 1 to 255 bytes of UTF-8.", nameof(host));
        }

        return new Socks5Address(AddressType.DomainName, bytes[..written], port);
    }

    /// <summary>The IP address; only for <see cref="AddressType.IPv4"/> and <see cref="AddressType.IPv6"/>.</summary>
    public readonly IPAddress ToIPAddress()
    {
        if (Type == AddressType.DomainName)
        {
            throw new InvalidOperationException("A domain name has no IP address until it is resolved.");
        }

        return new IPAddress(AddressBytes);
    }

    /// <summary>The domain name as text (UTF-8; RFC 1928 leaves the encoding open and DNS names are ASCII).</summary>
    public readonly string GetHostName()
    {
        if (Type != AddressType.DomainName)
        {
            throw new InvalidOperationException("Only a domain name address has a host name.");
        }

        return Encoding.UTF8.GetString(AddressBytes);
    }

    /// <summary>Writes ATYP, the address and the port. Returns false, writing nothing, when <paramref name="destination"/> is too short.</summary>
    public readonly bool TryWrite(Span<byte> destination, out int bytesWritten)
    {
        var length = EncodedLength;
        if (destination.Length < length)
        {
            bytesWritten = 0;
            return false;
        }

        destination[0] = (byte)Type;
        var offset = 1;
        if (Type == AddressType.DomainName)
        {
            destination[offset++] = _length;
        }

        AddressBytes.CopyTo(destination[offset..]);
        offset += _length;
        BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], Port);
        bytesWritten = length;
        return true;
    }

    public override readonly string ToString()
    {
        return Type switch
        {
            AddressType.DomainName => $"{GetHostName()}:{Port}",
            AddressType.IPv6 => $"[{ToIPAddress()}]:{Port}",
            AddressType.IPv4 => $"{ToIPAddress()}:{Port}",
            _ => "(none)",
        };
    }

    internal static AddressFamily ToAddressFamily(AddressType type) =>
        type == AddressType.IPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
}
