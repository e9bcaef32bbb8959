using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;

namespace KestrelSocks.Protocol.ProxyProtocol;

/// <summary>
/// The PROXY protocol header a balancer puts before the client's first byte, v1 (text) or v2 (binary), told apart by
/// their first byte. Same contract as <see cref="Socks5Parser"/>: true consumes exactly the header and leaves the SOCKS
/// bytes behind it; false needs more bytes and moves nothing; bytes that can never form an accepted header throw
/// <see cref="ProxyProtocolException"/>, as early as they can be told apart.
/// </summary>
internal static class ProxyHeaderParser
{
    /// <summary>The longest v1 line the specification allows, CRLF included.</summary>
    public const int MaxV1Length = 107;

    /// <summary>
    /// The longest v2 header read. The format allows 16 + 65,535 bytes; everything past the 36 bytes of two IPv6
    /// endpoints is TLVs, which are skipped, and a trusted balancer's TLVs (ALPN, authority, unique ID, TLS details)
    /// fit well within this. Bounding it bounds what a connection makes the server buffer before SOCKS starts.
    /// </summary>
    public const int MaxV2Length = 4096;

    private const int V2FixedLength = 16;

    private static ReadOnlySpan<byte> V1Signature => "PROXY "u8;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static bool TryParse(ref ReadOnlySequence<byte> buffer, out ProxyHeader header)
    {
        header = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryPeek(out var first))
        {
            return false;
        }

        return first switch
        {
            (byte)'P' => TryParseV1(ref buffer, ref header),
            0x0D => TryParseV2(ref buffer, ref header),
            _ => Fail(ProxyHeaderError.MissingSignature),
        };
    }

    private static bool TryParseV1(ref ReadOnlySequence<byte> buffer, ref ProxyHeader header)
    {
        Span<byte> line = stackalloc byte[MaxV1Length];
        line = line[..(int)Math.Min(buffer.Length, MaxV1Length)];
        buffer.Slice(0, line.Length).CopyTo(line);
        CheckSignature(line, V1Signature);

        var end = line.IndexOf((byte)'\n');
        if (end < 0)
        {
            return line.Length < MaxV1Length ? false : Fail(ProxyHeaderError.TooLong);
        }

        if (end < V1Signature.Length + 1 || line[end - 1] != '\r')
        {
            ProxyProtocolException.Throw(ProxyHeaderError.InvalidLine);
        }

        ParseV1Body(line[V1Signature.Length..(end - 1)], ref header);
        buffer = buffer.Slice(end + 1);
        return true;
    }

    /// <summary>"UNKNOWN[ anything]", or "TCP4|TCP6 SRC DST SPORT DPORT" with single spaces.</summary>
    private static void ParseV1Body(ReadOnlySpan<byte> body, ref ProxyHeader header)
    {
        header.Version = 1;
        if (body.StartsWith("UNKNOWN"u8) && (body.Length == 7 || body[7] == ' '))
        {
            header.Command = ProxyCommand.Local;
            return;
        }

        var family = body.StartsWith("TCP4 "u8) ? AddressFamily.InterNetwork
            : body.StartsWith("TCP6 "u8) ? AddressFamily.InterNetworkV6
            : AddressFamily.Unknown;
        if (family == AddressFamily.Unknown)
        {
            ProxyProtocolException.Throw(ProxyHeaderError.InvalidLine);
        }

        var rest = body[5..];
        var source = NextToken(ref rest);
        var destination = NextToken(ref rest);
        var sourcePort = NextToken(ref rest);
        var destinationPort = rest;

        Span<byte> address = stackalloc byte[16];
        var type = family == AddressFamily.InterNetwork ? AddressType.IPv4 : AddressType.IPv6;
        var length = type == AddressType.IPv4 ? 4 : 16;

        ParseV1Address(source, family, address);
        header.Source = new Socks5Address(type, address[..length], ParseV1Port(sourcePort));
        ParseV1Address(destination, family, address);
        header.Destination = new Socks5Address(type, address[..length], ParseV1Port(destinationPort));
        header.Command = ProxyCommand.Proxy;
    }

    private static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> rest)
    {
        var space = rest.IndexOf((byte)' ');
        if (space <= 0)
        {
            ProxyProtocolException.Throw(ProxyHeaderError.InvalidLine);
        }

        var token = rest[..space];
        rest = rest[(space + 1)..];
        return token;
    }

    private static void ParseV1Address(ReadOnlySpan<byte> text, AddressFamily family, Span<byte> address)
    {
        var parsed = family == AddressFamily.InterNetwork ? AddressText.TryParseIPv4(text, address) : AddressText.TryParseIPv6(text, address);
        if (!parsed)
        {
            ProxyProtocolException.Throw(ProxyHeaderError.InvalidLine);
        }
    }

    private static ushort ParseV1Port(ReadOnlySpan<byte> text)
    {
        if (!AddressText.TryParsePort(text, out var port))
        {
            ProxyProtocolException.Throw(ProxyHeaderError.InvalidLine);
        }

        return port;
    }

    private static bool TryParseV2(ref ReadOnlySequence<byte> buffer, ref ProxyHeader header)
    {
        Span<byte> start = stackalloc byte[V2FixedLength];
        start = start[..(int)Math.Min(buffer.Length, V2FixedLength)];
        buffer.Slice(0, start.Length).CopyTo(start);
        CheckSignature(start, V2Signature);

        // Each field is checked as soon as it has arrived: a bad header is refused by the byte that shows it.
        if (start.Length > 12)
        {
            var versionCommand = start[12];
            if (versionCommand >> 4 != 2)
            {
                ProxyProtocolException.Throw(ProxyHeaderError.InvalidVersion);
            }

            if ((versionCommand & 0x0F) > 1)
            {
                ProxyProtocolException.Throw(ProxyHeaderError.InvalidCommand);
            }
        }

        // High nibble: UNSPEC 0, INET 1, INET6 2, UNIX 3; low nibble: UNSPEC 0, STREAM 1, DGRAM 2. UNSPEC goes with UNSPEC only.
        if (start.Length > 13 && start[13] is not (0x00 or 0x11 or 0x12 or 0x21 or 0x22 or 0x31 or 0x32))
        {
            ProxyProtocolException.Throw(ProxyHeaderError.InvalidFamily);
        }

        if (start.Length < V2FixedLength)
        {
            return false;
        }

        var command = start[12] & 0x0F;
        var family = start[13] >> 4;
        var transport = start[13] & 0x0F;
        var length = BinaryPrimitives.ReadUInt16BigEndian(start[14..]);
        if (V2FixedLength + length > MaxV2Length)
        {
            ProxyProtocolException.Throw(ProxyHeaderError.TooLong);
        }

        // LOCAL carries no client, whatever address block follows; so does PROXY over UNSPEC.
        var proxied = command == 1 && family != 0;
        if (proxied && (family == 3 || transport == 2))
        {
            ProxyProtocolException.Throw(ProxyHeaderError.UnsupportedFamily);
        }

        var addressLength = family == 1 ? 12 : 36;
        if (proxied && length < addressLength)
        {
            ProxyProtocolException.Throw(ProxyHeaderError.AddressesTruncated);
        }

        if (buffer.Length < V2FixedLength + length)
        {
            return false;
        }

        header.Version = 2;
        header.Command = proxied ? ProxyCommand.Proxy : ProxyCommand.Local;
        if (proxied)
        {
            Span<byte> addresses = stackalloc byte[36];
            addresses = addresses[..addressLength];
            buffer.Slice(V2FixedLength, addressLength).CopyTo(addresses);
            var (type, size) = family == 1 ? (AddressType.IPv4, 4) : (AddressType.IPv6, 16);
            var ports = addresses[(2 * size)..];
            header.Source = new Socks5Address(type, addresses[..size], BinaryPrimitives.ReadUInt16BigEndian(ports));
            header.Destination = new Socks5Address(type, addresses[size..(2 * size)], BinaryPrimitives.ReadUInt16BigEndian(ports[2..]));
        }

        // What follows the addresses is TLVs (or padding): none of it changes who the client is.
        buffer = buffer.Slice(V2FixedLength + length);
        return true;
    }

    /// <summary>Throws as soon as the bytes so far differ from <paramref name="signature"/>.</summary>
    private static void CheckSignature(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> signature)
    {
        var compared = Math.Min(bytes.Length, signature.Length);
        if (!bytes[..compared].SequenceEqual(signature[..compared]))
        {
            ProxyProtocolException.Throw(ProxyHeaderError.MissingSignature);
        }
    }

    private static bool Fail(ProxyHeaderError error) => throw new ProxyProtocolException(error);
}
