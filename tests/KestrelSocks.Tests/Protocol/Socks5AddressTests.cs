using System.Net;
using System.Net.Sockets;
using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Protocol;

public sealed class Socks5AddressTests
{
    [Fact]
    public void FromEndPoint_IPv4_KeepsFourBytesAndPort()
    {
        var address = Socks5Address.FromEndPoint(IPEndPoint.Parse("192.0.2.10:1080"));

        Assert.Equal(AddressType.IPv4, address.Type);
        Assert.Equal([192, 0, 2, 10], address.AddressBytes.ToArray());
        Assert.Equal(1080, address.Port);
        Assert.Equal(IPAddress.Parse("192.0.2.10"), address.ToIPAddress());
    }

    [Fact]
    public void FromEndPoint_IPv6_KeepsSixteenBytesAndPort()
    {
        var address = Socks5Address.FromEndPoint(IPEndPoint.Parse("[2001:db8::ff00:42:8329]:443"));

        Assert.Equal(AddressType.IPv6, address.Type);
        Assert.Equal(
            [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0xFF, 0x00, 0x00, 0x42, 0x83, 0x29],
            address.AddressBytes.ToArray());
        Assert.Equal(443, address.Port);
        Assert.Equal(IPAddress.Parse("2001:db8::ff00:42:8329"), address.ToIPAddress());
    }

    [Fact]
    public void FromEndPoint_IPv4MappedIPv6_BecomesIPv4()
    {
        // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; on the wire they are plain IPv4 (ATYP 1).
        var address = Socks5Address.FromEndPoint(IPEndPoint.Parse("[::ffff:198.51.100.7]:8080"));

        Assert.Equal(AddressType.IPv4, address.Type);
        Assert.Equal([198, 51, 100, 7], address.AddressBytes.ToArray());
        Assert.Equal(8080, address.Port);
        Assert.Equal(7, address.EncodedLength);
        Assert.Equal("198.51.100.7:8080", address.ToString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65535)]
    public void FromEndPoint_PortLimits_AreKept(int port)
    {
        Assert.Equal(port, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Loopback, port)).Port);
        Assert.Equal(port, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, port)).Port);
    }

    [Fact]
    public void FromDomainName_KeepsUtf8BytesAndPort()
    {
        var address = Socks5Address.FromDomainName("bücher.example", 80);

        Assert.Equal(AddressType.DomainName, address.Type);
        Assert.Equal("bücher.example"u8.ToArray(), address.AddressBytes.ToArray());
        Assert.Equal(15, address.AddressBytes.Length);
        Assert.Equal("bücher.example", address.GetHostName());
        Assert.Equal(80, address.Port);
    }

    [Fact]
    public void FromDomainName_255Bytes_IsAccepted()
    {
        var address = Socks5Address.FromDomainName(new string('d', 255), 1);

        Assert.Equal(255, address.AddressBytes.Length);
        Assert.Equal(Socks5Constants.MaxAddressLength, address.EncodedLength);
    }

    [Theory]
    [InlineData("")]
    [InlineData("256")]
    [InlineData("128-two-byte-chars")]
    public void FromDomainName_EmptyOrOver255Bytes_Throws(string kind)
    {
        var host = kind switch
        {
            "" => "",
            "256" => new string('d', 256),
            _ => new string('é', 128),
        };

        Assert.Throws<ArgumentException>("host", () => Socks5Address.FromDomainName(host, 80));
    }

    [Theory]
    [InlineData(0x01, 4, true)]
    [InlineData(0x01, 0, false)]
    [InlineData(0x01, 3, false)]
    [InlineData(0x01, 5, false)]
    [InlineData(0x01, 16, false)]
    [InlineData(0x04, 16, true)]
    [InlineData(0x04, 4, false)]
    [InlineData(0x04, 15, false)]
    [InlineData(0x04, 17, false)]
    [InlineData(0x03, 1, true)]
    [InlineData(0x03, 255, true)]
    [InlineData(0x03, 0, false)]
    [InlineData(0x03, 256, false)]
    [InlineData(0x00, 4, false)]
    [InlineData(0x02, 4, false)]
    [InlineData(0x05, 16, false)]
    public void Constructor_ChecksLengthAgainstType(byte type, int length, bool valid)
    {
        var bytes = Enumerable.Range(1, length).Select(i => (byte)i).ToArray();

        if (valid)
        {
            var address = new Socks5Address((AddressType)type, bytes, 1234);
            Assert.Equal((AddressType)type, address.Type);
            Assert.Equal(bytes, address.AddressBytes.ToArray());
            Assert.Equal(1234, address.Port);
        }
        else
        {
            Assert.Throws<ArgumentException>("address", () => new Socks5Address((AddressType)type, bytes, 1234));
        }
    }

    [Fact]
    public void EncodedLength_CountsTypeAddressLengthByteAndPort()
    {
        Assert.Equal(1 + 4 + 2, Socks5Address.FromEndPoint(IPEndPoint.Parse("10.0.0.1:1")).EncodedLength);
        Assert.Equal(1 + 16 + 2, Socks5Address.FromEndPoint(IPEndPoint.Parse("[::1]:1")).EncodedLength);
        Assert.Equal(1 + 1 + 11 + 2, Socks5Address.FromDomainName("example.com", 1).EncodedLength);
        Assert.Equal(1 + 1 + 1 + 2, Socks5Address.FromDomainName("a", 1).EncodedLength);
    }

    public static TheoryData<string> Samples => ["10.0.0.1:1", "[::1]:1", "example.com:1"];

    [Theory]
    [MemberData(nameof(Samples))]
    public void TryWrite_ExactLength_WritesEncodedLengthBytes(string sample)
    {
        var address = Create(sample);
        var destination = new byte[address.EncodedLength + 3];
        destination.AsSpan().Fill(0xCC);

        Assert.True(address.TryWrite(destination, out var written));

        Assert.Equal(address.EncodedLength, written);
        Assert.Equal((byte)address.Type, destination[0]);
        Assert.Equal([0x00, 0x01], destination[(written - 2)..written]);
        Assert.Equal([0xCC, 0xCC, 0xCC], destination[written..]);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void TryWrite_TooShort_ReturnsFalseAndWritesNothing(string sample)
    {
        var address = Create(sample);
        for (var length = 0; length < address.EncodedLength; length++)
        {
            var destination = new byte[length];
            destination.AsSpan().Fill(0xCC);

            Assert.False(address.TryWrite(destination, out var written));

            Assert.Equal(0, written);
            Assert.All(destination, value => Assert.Equal(0xCC, value));
        }
    }

    [Fact]
    public void TryWrite_WritesWireLayout()
    {
        var destination = new byte[32];

        Assert.True(Socks5Address.FromDomainName("a.b", 0xABCD).TryWrite(destination, out var written));

        Assert.Equal([0x03, 0x03, (byte)'a', (byte)'.', (byte)'b', 0xAB, 0xCD], destination[..written]);
    }

    [Theory]
    [InlineData("192.0.2.1:1080", "192.0.2.1:1080")]
    [InlineData("[2001:db8::1]:443", "[2001:db8::1]:443")]
    [InlineData("[::]:0", "[::]:0")]
    [InlineData("example.com:80", "example.com:80")]
    [InlineData("[::ffff:10.1.2.3]:22", "10.1.2.3:22")]
    public void ToString_ShowsHostAndPort(string sample, string expected)
    {
        Assert.Equal(expected, Create(sample).ToString());
    }

    [Fact]
    public void ToString_Default_IsNone()
    {
        Assert.Equal("(none)", default(Socks5Address).ToString());
    }

    [Theory]
    [InlineData("0.0.0.0:1080", true)]
    [InlineData("0.0.0.0:0", true)]
    [InlineData("[::]:1080", true)]
    [InlineData("0.0.0.1:0", false)]
    [InlineData("1.0.0.0:0", false)]
    [InlineData("[::1]:0", false)]
    [InlineData("[8000::]:0", false)]
    [InlineData("a:0", false)]
    public void IsUnspecifiedIP_OnlyForAllZeroIPAddresses(string sample, bool expected)
    {
        Assert.Equal(expected, Create(sample).IsUnspecifiedIP);
    }

    [Fact]
    public void IsUnspecifiedIP_DomainOfZeroBytes_IsFalse()
    {
        Assert.False(new Socks5Address(AddressType.DomainName, [0x00], 0).IsUnspecifiedIP);
    }

    [Fact]
    public void ToIPAddress_OnDomainName_Throws()
    {
        var address = Socks5Address.FromDomainName("example.com", 80);

        Assert.Throws<InvalidOperationException>(() => address.ToIPAddress());
    }

    [Fact]
    public void GetHostName_OnIPAddress_Throws()
    {
        var address = Socks5Address.FromEndPoint(IPEndPoint.Parse("10.0.0.1:80"));

        Assert.Throws<InvalidOperationException>(() => address.GetHostName());
    }

    [Fact]
    public void ToAddressFamily_MapsIPv6ToInterNetworkV6AndTheRestToInterNetwork()
    {
        Assert.Equal(AddressFamily.InterNetworkV6, Socks5Address.ToAddressFamily(AddressType.IPv6));
        Assert.Equal(AddressFamily.InterNetwork, Socks5Address.ToAddressFamily(AddressType.IPv4));
        Assert.Equal(AddressFamily.InterNetwork, Socks5Address.ToAddressFamily(AddressType.DomainName));
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
