using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text;
using KestrelSocks.Protocol.ProxyProtocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol.ProxyProtocol;

public sealed class ProxyHeaderParserTests
{
    private static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    // The errors are internal: the theories carry them as numbers.

    // A SOCKS5 greeting: what follows the header on a real connection, and must be left for the session.
    private static readonly byte[] Greeting = [0x05, 0x01, 0x00];

    public static TheoryData<string, byte[], string?, string?> Headers => new()
    {
        { "v1 TCP4", Ascii("PROXY TCP4 192.0.2.10 198.51.100.1 56324 1080\r\n"), "192.0.2.10:56324", "198.51.100.1:1080" },
        { "v1 TCP4 extremes", Ascii("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"), "0.0.0.0:0", "255.255.255.255:65535" },
        { "v1 TCP6", Ascii("PROXY TCP6 2001:db8::1 2001:db8::2:1 443 1080\r\n"), "[2001:db8::1]:443", "[2001:db8::2:1]:1080" },
        { "v1 TCP6 mapped", Ascii("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n"), "[::ffff:192.0.2.1]:1", "[::1]:2" },
        { "v1 TCP6 longest", Ascii($"PROXY TCP6 {LongIPv6} {LongIPv6} 65535 65535\r\n"), $"[{LongIPv6}]:65535", $"[{LongIPv6}]:65535" },
        { "v1 UNKNOWN", Ascii("PROXY UNKNOWN\r\n"), null, null },
        { "v1 UNKNOWN with addresses", Ascii("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"), null, null },
        { "v2 PROXY TCP4", V2(0x21, 0x11, [192, 0, 2, 10, 198, 51, 100, 1, 0xDC, 0x04, 0x04, 0x38]), "192.0.2.10:56324", "198.51.100.1:1080" },
        { "v2 PROXY TCP6", V2(0x21, 0x21, [.. IP("2001:db8::1"), .. IP("2001:db8::2:1"), 0x01, 0xBB, 0x04, 0x38]), "[2001:db8::1]:443", "[2001:db8::2:1]:1080" },
        { "v2 PROXY TCP4 with TLVs", V2(0x21, 0x11, [192, 0, 2, 10, 198, 51, 100, 1, 0xDC, 0x04, 0x04, 0x38, .. Tlv(0x05, 16), .. Tlv(0x02, 11), .. Tlv(0x04, 0)]), "192.0.2.10:56324", "198.51.100.1:1080" },
        { "v2 PROXY TCP6 with TLVs", V2(0x21, 0x21, [.. IP("::1"), .. IP("::2"), 0, 1, 0, 2, .. Tlv(0xE0, 100)]), "[::1]:1", "[::2]:2" },
        { "v2 LOCAL, no addresses", V2(0x20, 0x00, []), null, null },
        { "v2 LOCAL with an address block", V2(0x20, 0x11, [127, 0, 0, 1, 127, 0, 0, 1, 0, 1, 0, 2]), null, null },
        { "v2 LOCAL over UNIX", V2(0x20, 0x31, new byte[216]), null, null },
        { "v2 PROXY UNSPEC", V2(0x21, 0x00, [1, 2, 3]), null, null },
        { "v2 largest read", V2(0x21, 0x11, [10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2, .. Tlv(0xE0, ProxyHeaderParser.MaxV2Length - 16 - 12 - 3)]), "10.0.0.1:1", "10.0.0.2:2" },
    };

    [Theory]
    [MemberData(nameof(Headers))]
    public void TryParse_WholeAndEverySplit_ReadsTheClient(string name, byte[] header, string? source, string? destination)
    {
        Assert.NotEmpty(name);
        var parsed = ParserAssert.ParsesWhole<ProxyHeader>(ProxyHeaderParser.TryParse, header);
        AssertHeader(header, source, destination, parsed);
        if (header.Length <= 256)
        {
            ParserAssert.ParsesInEveryShape<ProxyHeader>(ProxyHeaderParser.TryParse, header, h => AssertHeader(header, source, destination, h));
        }
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void TryParse_EveryTruncatedPrefix_NeedsMore(string name, byte[] header, string? source, string? destination)
    {
        Assert.NotEmpty(name);
        Assert.Equal(source is null, destination is null);
        if (header.Length <= 256)
        {
            ParserAssert.NeedsMoreForEveryPrefix<ProxyHeader>(ProxyHeaderParser.TryParse, header);
        }
        else
        {
            // Every split of a 4 KiB header is millions of parses; the boundaries that matter are the fixed part's and the last byte's.
            foreach (var length in (int[])[0, 1, 12, 15, 16, 17, 28, 29, header.Length - 1])
            {
                var prefix = new ReadOnlySequence<byte>(header[..length]);
                Assert.False(ProxyHeaderParser.TryParse(ref prefix, out _));
                Assert.Equal(length, prefix.Length);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void TryParse_WithTheSocksGreetingBehind_ConsumesOnlyTheHeader(string name, byte[] header, string? source, string? destination)
    {
        Assert.NotEmpty(name);
        if (header.Length <= 256)
        {
            ParserAssert.ParsesPipelined<ProxyHeader>(ProxyHeaderParser.TryParse, header, Greeting, h => AssertHeader(header, source, destination, h));
        }
        else
        {
            var buffer = new ReadOnlySequence<byte>([.. header, .. Greeting]);
            Assert.True(ProxyHeaderParser.TryParse(ref buffer, out var parsed));
            Assert.Equal(Greeting, buffer.ToArray());
            AssertHeader(header, source, destination, parsed);
        }
    }

    public static TheoryData<string, byte[], int> Invalid => new()
    {
        // Not a header at all: a client that skipped the balancer, from its very first byte where it can be told.
        { "SOCKS greeting", Greeting, (int)ProxyHeaderError.MissingSignature },
        { "HTTP", Ascii("GET / HTTP/1.1\r\n"), (int)ProxyHeaderError.MissingSignature },
        { "v1 lower case", Ascii("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.MissingSignature },
        { "v1 signature wrong at its last byte", Ascii("PROXY\tTCP4"), (int)ProxyHeaderError.MissingSignature },
        { "v1 signature wrong early", Ascii("PRX"), (int)ProxyHeaderError.MissingSignature },
        { "v2 signature wrong at its last byte", [.. Signature[..11], 0x0B], (int)ProxyHeaderError.MissingSignature },
        { "v2 signature wrong early", [0x0D, 0x0A, 0x0A], (int)ProxyHeaderError.MissingSignature },

        // v1 grammar.
        { "v1 bare LF", Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 empty", Ascii("PROXY \r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 unknown protocol", Ascii("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 UNKNOWNX", Ascii("PROXY UNKNOWNX\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 TCP4 without addresses", Ascii("PROXY TCP4\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 double space", Ascii("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 trailing space", Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 missing port", Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 extra token", Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 port too large", Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 port leading zero", Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 port sign", Ascii("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 octet too large", Ascii("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 octet leading zero", Ascii("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 IPv4 shorthand", Ascii("PROXY TCP4 127.1 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 IPv4 five octets", Ascii("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 IPv6 in TCP4", Ascii("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 IPv4 in TCP6", Ascii("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 IPv6 scope", Ascii("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 IPv6 brackets", Ascii("PROXY TCP6 [::1] ::1 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 IPv6 too many groups", Ascii("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 CR inside", Ascii("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"), (int)ProxyHeaderError.InvalidLine },
        { "v1 no CRLF in 107 bytes", Ascii("PROXY UNKNOWN " + new string('x', ProxyHeaderParser.MaxV1Length - 14)), (int)ProxyHeaderError.TooLong },
        { "v1 CRLF past 107 bytes", Ascii("PROXY UNKNOWN " + new string('x', ProxyHeaderParser.MaxV1Length - 15) + "\r\n"), (int)ProxyHeaderError.TooLong },

        // v2 fields.
        { "v2 version 1", V2(0x11, 0x11, new byte[12]), (int)ProxyHeaderError.InvalidVersion },
        { "v2 version 3", V2(0x31, 0x11, new byte[12]), (int)ProxyHeaderError.InvalidVersion },
        { "v2 command 2", V2(0x22, 0x11, new byte[12]), (int)ProxyHeaderError.InvalidCommand },
        { "v2 command 15", V2(0x2F, 0x11, new byte[12]), (int)ProxyHeaderError.InvalidCommand },
        { "v2 family 4", V2(0x21, 0x41, new byte[12]), (int)ProxyHeaderError.InvalidFamily },
        { "v2 transport 3", V2(0x21, 0x13, new byte[12]), (int)ProxyHeaderError.InvalidFamily },
        { "v2 UNSPEC family with STREAM", V2(0x21, 0x01, []), (int)ProxyHeaderError.InvalidFamily },
        { "v2 INET with UNSPEC transport", V2(0x21, 0x10, new byte[12]), (int)ProxyHeaderError.InvalidFamily },
        { "v2 UDP4", V2(0x21, 0x12, new byte[12]), (int)ProxyHeaderError.UnsupportedFamily },
        { "v2 UDP6", V2(0x21, 0x22, new byte[36]), (int)ProxyHeaderError.UnsupportedFamily },
        { "v2 UNIX stream", V2(0x21, 0x31, new byte[216]), (int)ProxyHeaderError.UnsupportedFamily },
        { "v2 TCP4 short", V2(0x21, 0x11, new byte[11]), (int)ProxyHeaderError.AddressesTruncated },
        { "v2 TCP6 holding TCP4 addresses", V2(0x21, 0x21, new byte[12]), (int)ProxyHeaderError.AddressesTruncated },
        { "v2 over the limit", V2Header(0x21, 0x11, ProxyHeaderParser.MaxV2Length - 15), (int)ProxyHeaderError.TooLong },
        { "v2 largest the format allows", V2Header(0x21, 0x11, ushort.MaxValue), (int)ProxyHeaderError.TooLong },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void TryParse_InvalidInEveryShape_Throws(string name, byte[] bytes, int error)
    {
        Assert.NotEmpty(name);
        var expected = (ProxyHeaderError)error;
        ParserAssert.Throws<ProxyHeader>(ProxyHeaderParser.TryParse, bytes, expected);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void TryParse_Invalid_ThrowsWithoutWaitingForTheRest(string name, byte[] bytes, int error)
    {
        Assert.NotEmpty(name);
        var expected = (ProxyHeaderError)error;

        // A fault is reported by the byte that shows it: the shortest prefix that throws throws the same error, and
        // every shorter one only asks for more. A header announcing 64 KiB is refused from its 16 fixed bytes.
        var shortest = Enumerable.Range(1, bytes.Length).First(length => Throws(bytes[..length]));
        Assert.Equal(expected, Error(bytes[..shortest]));
        var expectedShortest = expected switch
        {
            ProxyHeaderError.InvalidVersion or ProxyHeaderError.InvalidCommand => 13,
            ProxyHeaderError.InvalidFamily => 14,
            ProxyHeaderError.TooLong when bytes[0] == 0x0D => 16,
            ProxyHeaderError.UnsupportedFamily or ProxyHeaderError.AddressesTruncated => 16,
            _ => shortest,
        };
        Assert.Equal(expectedShortest, shortest);
    }

    [Fact]
    public void TryParse_Empty_NeedsMore()
    {
        var buffer = ReadOnlySequence<byte>.Empty;
        Assert.False(ProxyHeaderParser.TryParse(ref buffer, out _));
    }

    [Fact]
    public void TryParse_LongestV1Line_Parses()
    {
        // The specification's worst case is exactly 107 bytes.
        var line = Ascii($"PROXY TCP6 {LongIPv6} {LongIPv6} 65535 65535\r\n");
        Assert.Equal(ProxyHeaderParser.MaxV1Length - 3, line.Length);
        var unknown = Ascii("PROXY UNKNOWN " + new string('x', ProxyHeaderParser.MaxV1Length - 16) + "\r\n");
        Assert.Equal(ProxyHeaderParser.MaxV1Length, unknown.Length);
        var parsed = ParserAssert.ParsesWhole<ProxyHeader>(ProxyHeaderParser.TryParse, unknown);
        Assert.Equal(ProxyCommand.Local, parsed.Command);
    }

    private const string LongIPv6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

    private static void AssertHeader(byte[] header, string? source, string? destination, ProxyHeader parsed)
    {
        Assert.Equal(header[0] == (byte)'P' ? 1 : 2, parsed.Version);
        if (source is null)
        {
            Assert.Equal(ProxyCommand.Local, parsed.Command);
            Assert.Null(parsed.GetClient());
            return;
        }

        Assert.Equal(ProxyCommand.Proxy, parsed.Command);
        Assert.Equal(IPEndPoint.Parse(source), parsed.GetClient());
        Assert.Equal(IPEndPoint.Parse(destination!), new IPEndPoint(parsed.Destination.ToIPAddress(), parsed.Destination.Port));
    }

    private static bool Throws(byte[] bytes)
    {
        try
        {
            var buffer = new ReadOnlySequence<byte>(bytes);
            Assert.False(ProxyHeaderParser.TryParse(ref buffer, out _), "A header parsed from a prefix of bad bytes.");
            return false;
        }
        catch (ProxyProtocolException)
        {
            return true;
        }
    }

    private static ProxyHeaderError Error(byte[] bytes) =>
        Assert.Throws<ProxyProtocolException>(() =>
        {
            var buffer = new ReadOnlySequence<byte>(bytes);
            ProxyHeaderParser.TryParse(ref buffer, out _);
        }).Error;

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] IP(string address) => IPAddress.Parse(address).GetAddressBytes();

    private static byte[] V2(byte versionCommand, byte family, byte[] body) => [.. V2Header(versionCommand, family, body.Length), .. body];

    private static byte[] V2Header(byte versionCommand, byte family, int length)
    {
        var header = new byte[16];
        Signature.CopyTo(header, 0);
        header[12] = versionCommand;
        header[13] = family;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)length);
        return header;
    }

    private static byte[] Tlv(byte type, int length)
    {
        var tlv = new byte[3 + length];
        tlv[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(tlv.AsSpan(1), (ushort)length);
        Array.Fill(tlv, (byte)0xAB, 3, length);
        return tlv;
    }
}
