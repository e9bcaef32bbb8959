using System.Buffers.Binary;
using System.Net.Sockets;

namespace KestrelSocks.Protocol;

/// <summary>
/// The header in front of every relayed datagram (RFC 1928 section 7): RSV(2) FRAG ATYP DST.ADDR DST.PORT.
/// A datagram arrives whole, so "need more bytes" does not exist here: a short header is malformed.
/// </summary>
internal static class Socks5UdpHeader
{
    /// <summary>RSV FRAG ATYP, an IPv6 address and the port: the longest header this server writes.</summary>
    public const int MaxIPHeaderLength = 2 + 1 + 1 + 16 + 2;

    /// <summary>The high-order bit of FRAG: this fragment ends its sequence.</summary>
    public const byte EndOfFragmentsFlag = 0x80;

    public static UdpHeaderStatus TryParse(ReadOnlySpan<byte> datagram, out byte fragment, out Socks5Address destination, out int headerLength)
    {
        fragment = 0;
        destination = default;
        headerLength = 0;
        if (datagram.Length < 4)
        {
            return UdpHeaderStatus.Truncated;
        }

        if (datagram[0] != 0 || datagram[1] != 0)
        {
            return UdpHeaderStatus.InvalidReserved;
        }

        fragment = datagram[2];
        var offset = 4;
        int addressLength;
        switch ((AddressType)datagram[3])
        {
            case AddressType.IPv4:
                addressLength = 4;
                break;
            case AddressType.IPv6:
                addressLength = 16;
                break;
            case AddressType.DomainName:
                if (datagram.Length < 5)
                {
                    return UdpHeaderStatus.Truncated;
                }

                addressLength = datagram[4];
                if (addressLength == 0)
                {
                    return UdpHeaderStatus.EmptyDomainName;
                }

                offset = 5;
                break;
            default:
                return UdpHeaderStatus.UnsupportedAddressType;
        }

        if (datagram.Length < offset + addressLength + 2)
        {
            return UdpHeaderStatus.Truncated;
        }

        var port = BinaryPrimitives.ReadUInt16BigEndian(datagram.Slice(offset + addressLength, 2));
        destination = new Socks5Address((AddressType)datagram[3], datagram.Slice(offset, addressLength), port);
        headerLength = offset + addressLength + 2;
        return UdpHeaderStatus.Valid;
    }

    /// <summary>Writes a header naming <paramref name="address"/>; returns its length.</summary>
    public static int Write(Span<byte> destination, byte fragment, in Socks5Address address)
    {
        var length = 3 + address.EncodedLength;
        destination[0] = 0;
        destination[1] = 0;
        destination[2] = fragment;
        address.TryWrite(destination[3..], out _);
        return length;
    }

    /// <summary>
    /// Writes an unfragmented header naming an IP source, ending exactly at <paramref name="end"/> of
    /// <paramref name="buffer"/>, so a payload already received behind it needs no copy. Returns the header's start.
    /// </summary>
    public static int WriteBefore(Span<byte> buffer, int end, AddressFamily family, ReadOnlySpan<byte> address, ushort port)
    {
        var addressLength = family == AddressFamily.InterNetworkV6 ? 16 : 4;
        var start = end - (4 + addressLength + 2);
        var header = buffer[start..end];
        header[0] = 0;
        header[1] = 0;
        header[2] = 0;
        header[3] = (byte)(addressLength == 16 ? AddressType.IPv6 : AddressType.IPv4);
        address[..addressLength].CopyTo(header[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(header[(4 + addressLength)..], port);
        return start;
    }
}
