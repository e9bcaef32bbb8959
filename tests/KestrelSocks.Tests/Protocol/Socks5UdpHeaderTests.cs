using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Protocol;

/// <summary>
/// The RFC 1928 section 7 datagram header. A datagram arrives whole, so every fault (a short header included) is a
/// status, never "need more bytes" and never an exception.
/// </summary>
public sealed class Socks5UdpHeaderTests
{
    private static readonly byte[] _payload = [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01];

    /// <summary>RSV RSV FRAG, then ATYP ADDR PORT for every address type, and the text the address gives.</summary>
    public static TheoryData<string, byte[]> Headers => new()
    {
        { "192.0.2.10:43981", [0x00, 0x00, 0x00, 0x01, 192, 0, 2, 10, 0xAB, 0xCD] },
        { "[2001:db8::ff00:42:8329]:258", [0x00, 0x00, 0x00, 0x04, 0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0xFF, 0x00, 0x00, 0x42, 0x83, 0x29, 0x01, 0x02] },
        { "example.com:53", [0x00, 0x00, 0x00, 0x03, 11, .. "example.com"u8, 0x00, 0x35] },
        { "a:65535", [0x00, 0x00, 0x00, 0x03, 1, (byte)'a', 0xFF, 0xFF] },
        { $"{LongDomain}:1", [0x00, 0x00, 0x00, 0x03, 255, .. Encoding.ASCII.GetBytes(LongDomain), 0x00, 0x01] },
    };

    /// <summary>Every ATYP byte RFC 1928 does not define: 0, 2 and 5 to 255.</summary>
    public static IEnumerable<byte> UnknownAddressTypes =>
        Enumerable.Range(0, 256).Where(value => value is not (1 or 3 or 4)).Select(value => (byte)value);

    private static string LongDomain { get; } = new('d', 255);

    [Theory]
    [MemberData(nameof(Headers))]
    public void TryParse_ValidHeaderWithPayload_ReadsFragmentDestinationAndHeaderLength(string expected, byte[] header)
    {
        byte[] datagram = [.. header, .. _payload];

        var status = Socks5UdpHeader.TryParse(datagram, out var fragment, out var destination, out var headerLength);

        Assert.Equal(UdpHeaderStatus.Valid, status);
        Assert.Equal(0, fragment);
        Assert.Equal(header.Length, headerLength);
        Assert.Equal(_payload, datagram[headerLength..]);
        AssertDestination(expected, header, destination);
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void TryParse_HeaderAlone_IsValidWithAnEmptyPayload(string expected, byte[] header)
    {
        var status = Socks5UdpHeader.TryParse(header, out _, out var destination, out var headerLength);

        Assert.Equal(UdpHeaderStatus.Valid, status);
        Assert.Equal(header.Length, headerLength);
        AssertDestination(expected, header, destination);
    }

    [Fact]
    public void TryParse_IPv4_ReadsEachField()
    {
        byte[] datagram = [0x00, 0x00, 0x00, 0x01, 198, 51, 100, 7, 0x1F, 0x90, .. _payload];

        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(datagram, out _, out var destination, out var headerLength));

        Assert.Equal(10, headerLength);
        Assert.Equal(AddressType.IPv4, destination.Type);
        Assert.Equal(IPAddress.Parse("198.51.100.7"), destination.ToIPAddress());
        Assert.Equal(8080, destination.Port);
    }

    [Fact]
    public void TryParse_IPv6_ReadsEachField()
    {
        byte[] datagram = [0x00, 0x00, 0x00, 0x04, .. IPAddress.Parse("2001:db8::1").GetAddressBytes(), 0x01, 0xBB, .. _payload];

        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(datagram, out _, out var destination, out var headerLength));

        Assert.Equal(22, headerLength);
        Assert.Equal(AddressType.IPv6, destination.Type);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), destination.ToIPAddress());
        Assert.Equal(443, destination.Port);
    }

    [Fact]
    public void TryParse_Domain_ReadsEachField()
    {
        byte[] datagram = [0x00, 0x00, 0x00, 0x03, 7, .. "a.b.c.d"u8, 0x00, 0x35, .. _payload];

        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(datagram, out _, out var destination, out var headerLength));

        Assert.Equal(14, headerLength);
        Assert.Equal(AddressType.DomainName, destination.Type);
        Assert.Equal("a.b.c.d", destination.GetHostName());
        Assert.Equal(53, destination.Port);
    }

    [Fact]
    public void TryParse_255ByteDomain_IsValid()
    {
        byte[] datagram = [0x00, 0x00, 0x00, 0x03, 255, .. Encoding.ASCII.GetBytes(LongDomain), 0x04, 0x38, .. _payload];

        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(datagram, out _, out var destination, out var headerLength));

        Assert.Equal(4 + 1 + 255 + 2, headerLength);
        Assert.Equal(LongDomain, destination.GetHostName());
        Assert.Equal(1080, destination.Port);
        Assert.Equal(_payload, datagram[headerLength..]);
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x01)]
    [InlineData(0x7F)]
    [InlineData(0x81)]
    [InlineData(0x83)]
    [InlineData(0xFF)]
    public void TryParse_AnyFragmentByte_IsReportedAsIs(byte frag)
    {
        byte[] datagram = [0x00, 0x00, frag, 0x01, 10, 0, 0, 1, 0x00, 0x50, .. _payload];

        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(datagram, out var fragment, out _, out var headerLength));

        Assert.Equal(frag, fragment);
        Assert.Equal(10, headerLength);
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void TryParse_EveryTruncatedPrefix_IsTruncated(string expected, byte[] header)
    {
        Assert.NotEmpty(expected);
        for (var length = 0; length < header.Length; length++)
        {
            var status = Socks5UdpHeader.TryParse(header.AsSpan(0, length), out _, out var destination, out var headerLength);

            Assert.True(status == UdpHeaderStatus.Truncated, $"The {length}-byte prefix gave {status}.");
            Assert.Equal(0, headerLength);
            Assert.Equal(default(AddressType), destination.Type);
        }
    }

    [Fact]
    public void TryParse_NonZeroReserved_IsInvalidReserved()
    {
        for (var value = 1; value < 256; value++)
        {
            byte[] first = [(byte)value, 0x00, 0x00, 0x01, 10, 0, 0, 1, 0x00, 0x50];
            byte[] second = [0x00, (byte)value, 0x00, 0x01, 10, 0, 0, 1, 0x00, 0x50];
            byte[] both = [(byte)value, (byte)value, 0x00, 0x01, 10, 0, 0, 1, 0x00, 0x50];

            Assert.Equal(UdpHeaderStatus.InvalidReserved, Socks5UdpHeader.TryParse(first, out _, out _, out var headerLength));
            Assert.Equal(0, headerLength);
            Assert.Equal(UdpHeaderStatus.InvalidReserved, Socks5UdpHeader.TryParse(second, out _, out _, out _));
            Assert.Equal(UdpHeaderStatus.InvalidReserved, Socks5UdpHeader.TryParse(both, out _, out _, out _));

            // Four bytes are enough to see the reserved field, whatever follows.
            Assert.Equal(UdpHeaderStatus.InvalidReserved, Socks5UdpHeader.TryParse(first.AsSpan(0, 4), out _, out _, out _));
        }
    }

    [Fact]
    public void TryParse_UnknownAddressType_IsUnsupportedAddressType()
    {
        foreach (var type in UnknownAddressTypes)
        {
            // Long enough for any address, so only the type can be at fault.
            byte[] datagram = [0x00, 0x00, 0x00, type, .. new byte[16], 0x00, 0x50, .. _payload];

            var status = Socks5UdpHeader.TryParse(datagram, out _, out _, out var headerLength);

            Assert.True(status == UdpHeaderStatus.UnsupportedAddressType, $"ATYP {type} gave {status}.");
            Assert.Equal(0, headerLength);
            Assert.Equal(UdpHeaderStatus.UnsupportedAddressType, Socks5UdpHeader.TryParse(datagram.AsSpan(0, 4), out _, out _, out _));
        }
    }

    [Fact]
    public void TryParse_ZeroLengthDomain_IsEmptyDomainName()
    {
        byte[] datagram = [0x00, 0x00, 0x00, 0x03, 0, 0x00, 0x50, .. _payload];

        Assert.Equal(UdpHeaderStatus.EmptyDomainName, Socks5UdpHeader.TryParse(datagram, out _, out _, out var headerLength));
        Assert.Equal(0, headerLength);

        // The length byte alone already says the name is empty.
        Assert.Equal(UdpHeaderStatus.EmptyDomainName, Socks5UdpHeader.TryParse(datagram.AsSpan(0, 5), out _, out _, out _));
    }

    [Fact]
    public void TryParse_DomainLengthPastTheDatagram_IsTruncated()
    {
        // The length byte claims 20 bytes; the datagram holds 11 after it.
        byte[] datagram = [0x00, 0x00, 0x00, 0x03, 20, .. "example.com"u8];

        Assert.Equal(UdpHeaderStatus.Truncated, Socks5UdpHeader.TryParse(datagram, out _, out _, out _));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x01)]
    [InlineData(0x81)]
    public void Write_IPv4_WritesExactBytes(byte fragment)
    {
        var buffer = Filled(32);

        var length = Socks5UdpHeader.Write(buffer, fragment, Socks5Address.FromEndPoint(IPEndPoint.Parse("192.0.2.10:43981")));

        Assert.Equal(10, length);
        Assert.Equal([0x00, 0x00, fragment, 0x01, 192, 0, 2, 10, 0xAB, 0xCD], buffer[..length]);
        Assert.All(buffer[length..], value => Assert.Equal(0xCC, value));
    }

    [Fact]
    public void Write_IPv6_WritesExactBytes()
    {
        var buffer = Filled(32);

        var length = Socks5UdpHeader.Write(buffer, 0x02, Socks5Address.FromEndPoint(IPEndPoint.Parse("[2001:db8::1]:443")));

        Assert.Equal(22, length);
        Assert.Equal([0x00, 0x00, 0x02, 0x04, .. IPAddress.Parse("2001:db8::1").GetAddressBytes(), 0x01, 0xBB], buffer[..length]);
        Assert.All(buffer[length..], value => Assert.Equal(0xCC, value));
    }

    [Fact]
    public void Write_Domain_WritesExactBytes()
    {
        var buffer = Filled(32);

        var length = Socks5UdpHeader.Write(buffer, 0x7F, Socks5Address.FromDomainName("a.io", 0x0102));

        Assert.Equal(11, length);
        Assert.Equal([0x00, 0x00, 0x7F, 0x03, 4, (byte)'a', (byte)'.', (byte)'i', (byte)'o', 0x01, 0x02], buffer[..length]);
        Assert.All(buffer[length..], value => Assert.Equal(0xCC, value));
    }

    [Fact]
    public void Write_IntoExactlyItsLength_Fits()
    {
        var address = Socks5Address.FromEndPoint(IPEndPoint.Parse("[::1]:1"));
        var buffer = Filled(3 + address.EncodedLength);

        Assert.Equal(buffer.Length, Socks5UdpHeader.Write(buffer, 0, address));
        Assert.DoesNotContain((byte)0xCC, buffer);
    }

    [Fact]
    public void WriteBefore_IPv4_EndsExactlyAtEndAndReturnsTheStart()
    {
        var buffer = Filled(64);
        const int End = 30;
        _payload.CopyTo(buffer, End);

        var start = Socks5UdpHeader.WriteBefore(buffer, End, AddressFamily.InterNetwork, [192, 0, 2, 10], 0xABCD);

        Assert.Equal(End - 10, start);
        Assert.Equal([0x00, 0x00, 0x00, 0x01, 192, 0, 2, 10, 0xAB, 0xCD], buffer[start..End]);
        Assert.All(buffer[..start], value => Assert.Equal(0xCC, value));
        Assert.Equal(_payload, buffer[End..(End + _payload.Length)]);
        Assert.All(buffer[(End + _payload.Length)..], value => Assert.Equal(0xCC, value));
    }

    [Fact]
    public void WriteBefore_IPv6_EndsExactlyAtEndAndReturnsTheStart()
    {
        var buffer = Filled(64);
        const int End = 40;
        _payload.CopyTo(buffer, End);
        var address = IPAddress.Parse("2001:db8::ff00:42:8329").GetAddressBytes();

        var start = Socks5UdpHeader.WriteBefore(buffer, End, AddressFamily.InterNetworkV6, address, 53);

        Assert.Equal(End - 22, start);
        Assert.Equal([0x00, 0x00, 0x00, 0x04, .. address, 0x00, 0x35], buffer[start..End]);
        Assert.All(buffer[..start], value => Assert.Equal(0xCC, value));
        Assert.Equal(_payload, buffer[End..(End + _payload.Length)]);
    }

    [Fact]
    public void WriteBefore_IPv4FromA16ByteScratch_TakesTheFirstFourBytes()
    {
        // The relay reads a source address into 16 bytes of scratch and passes all of it.
        byte[] scratch = [10, 1, 2, 3, .. Enumerable.Repeat((byte)0xEE, 12)];
        var buffer = Filled(16);

        var start = Socks5UdpHeader.WriteBefore(buffer, 12, AddressFamily.InterNetwork, scratch, 1);

        Assert.Equal(2, start);
        Assert.Equal([0x00, 0x00, 0x00, 0x01, 10, 1, 2, 3, 0x00, 0x01], buffer[2..12]);
        Assert.Equal([0xCC, 0xCC, 0xCC, 0xCC], buffer[12..]);
    }

    [Fact]
    public void WriteBefore_AtTheLongestHeader_StartsAtZero()
    {
        var buffer = Filled(Socks5UdpHeader.MaxIPHeaderLength);

        var start = Socks5UdpHeader.WriteBefore(buffer, buffer.Length, AddressFamily.InterNetworkV6, IPAddress.IPv6Loopback.GetAddressBytes(), 9);

        Assert.Equal(0, start);
        Assert.DoesNotContain((byte)0xCC, buffer);
    }

    [Theory]
    [InlineData("192.0.2.10:43981", 0x00)]
    [InlineData("[2001:db8::1]:443", 0x05)]
    [InlineData("example.com:53", 0x81)]
    [InlineData("0.0.0.0:0", 0xFF)]
    public void Write_ThenTryParse_RoundTrips(string sample, byte fragment)
    {
        var address = Create(sample);
        var buffer = new byte[300];
        var length = Socks5UdpHeader.Write(buffer, fragment, address);
        _payload.CopyTo(buffer, length);
        var datagram = buffer.AsSpan(0, length + _payload.Length);

        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(datagram, out var parsedFragment, out var parsed, out var headerLength));

        Assert.Equal(fragment, parsedFragment);
        Assert.Equal(length, headerLength);
        Assert.Equal(sample, parsed.ToString());
        Assert.Equal(address.Type, parsed.Type);
        Assert.Equal(address.AddressBytes.ToArray(), parsed.AddressBytes.ToArray());
        Assert.Equal(address.Port, parsed.Port);
        Assert.Equal(_payload, datagram[headerLength..].ToArray());
    }

    [Theory]
    [InlineData("192.0.2.10:43981")]
    [InlineData("127.0.0.1:0")]
    [InlineData("[2001:db8::1]:443")]
    [InlineData("[::1]:65535")]
    public void WriteBefore_ThenTryParse_RoundTrips(string sample)
    {
        var endPoint = IPEndPoint.Parse(sample);
        var buffer = Filled(Socks5UdpHeader.MaxIPHeaderLength + _payload.Length);
        _payload.CopyTo(buffer, Socks5UdpHeader.MaxIPHeaderLength);

        var start = Socks5UdpHeader.WriteBefore(
            buffer, Socks5UdpHeader.MaxIPHeaderLength, endPoint.AddressFamily, endPoint.Address.GetAddressBytes(), (ushort)endPoint.Port);

        var datagram = buffer.AsSpan(start);
        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(datagram, out var fragment, out var parsed, out var headerLength));
        Assert.Equal(0, fragment);
        Assert.Equal(Socks5UdpHeader.MaxIPHeaderLength - start, headerLength);
        Assert.Equal(sample, parsed.ToString());
        Assert.Equal(_payload, datagram[headerLength..].ToArray());
    }

    private static void AssertDestination(string expected, byte[] header, in Socks5Address actual)
    {
        Assert.Equal(expected, actual.ToString());
        Assert.Equal((AddressType)header[3], actual.Type);
        var addressBytes = actual.Type == AddressType.DomainName ? header[5..^2] : header[4..^2];
        Assert.Equal(addressBytes, actual.AddressBytes.ToArray());
        Assert.Equal((ushort)((header[^2] << 8) | header[^1]), actual.Port);
    }

    private static byte[] Filled(int length)
    {
        var buffer = new byte[length];
        buffer.AsSpan().Fill(0xCC);
        return buffer;
    }

    private static Socks5Address Create(string sample)
    {
        if (IPEndPoint.TryParse(sample, out var endPoint))
        {
            return Socks5Address.FromEndPoint(endPoint);
        }

        var colon = sample.LastIndexOf(':');
        return Socks5Address.FromDomainName(sample[..colon], ushort.Parse(sample[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
