using System.Net;
using System.Net.Sockets;
using KestrelSocks.Relay.Udp;

namespace KestrelSocks.Tests.Relay.Udp;

public sealed class SocketAddressCodecTests
{
    /// <summary>An endpoint, then the address bytes the codec must report for it.</summary>
    public static TheoryData<string, byte[]> EndPoints => new()
    {
        { "192.0.2.10:43981", [192, 0, 2, 10] },
        { "0.0.0.0:0", [0, 0, 0, 0] },
        { "255.255.255.255:65535", [255, 255, 255, 255] },
        { "[2001:db8::ff00:42:8329]:443", [0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0xFF, 0x00, 0x00, 0x42, 0x83, 0x29] },
        { "[::1]:1", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] },

        // A dual-mode socket reports IPv4 peers as IPv4-mapped IPv6 addresses: read as the IPv4 address.
        { "[::ffff:198.51.100.7]:8080", [198, 51, 100, 7] },
        { "[::ffff:0.0.0.0]:53", [0, 0, 0, 0] },

        // Near misses of the mapped prefix stay IPv6.
        { "[::c633:6407]:8080", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 198, 51, 100, 7] },
        { "[::fffe:c633:6407]:8080", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFE, 198, 51, 100, 7] },
        { "[1::ffff:c633:6407]:8080", [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 198, 51, 100, 7] },
    };

    [Theory]
    [MemberData(nameof(EndPoints))]
    public void Read_SocketAddress_ReturnsAddressLengthAndPort(string sample, byte[] expected)
    {
        var endPoint = IPEndPoint.Parse(sample);
        var socketAddress = endPoint.Serialize();
        var address = Filled(16);

        var length = SocketAddressCodec.Read(socketAddress, address, out var port);

        Assert.Equal(expected.Length, length);
        Assert.Equal(expected, address[..length]);
        Assert.All(address[length..], value => Assert.Equal(0xCC, value));
        Assert.Equal(endPoint.Port, port);
    }

    [Theory]
    [MemberData(nameof(EndPoints))]
    public void Read_RawSockaddrBytes_ReturnsAddressLengthAndPort(string sample, byte[] expected)
    {
        var endPoint = IPEndPoint.Parse(sample);
        var socketAddress = endPoint.Serialize();
        var address = Filled(16);

        var length = SocketAddressCodec.Read(socketAddress.Family, socketAddress.Buffer.Span[..socketAddress.Size], address, out var port);

        Assert.Equal(expected.Length, length);
        Assert.Equal(expected, address[..length]);
        Assert.Equal(endPoint.Port, port);
    }

    [Fact]
    public void Read_MappedAddress_MatchesTheIPv4EndPoint()
    {
        var plain = new IPEndPoint(IPAddress.Parse("203.0.113.5"), 5353).Serialize();
        var mapped = new IPEndPoint(IPAddress.Parse("203.0.113.5").MapToIPv6(), 5353).Serialize();
        var fromPlain = new byte[16];
        var fromMapped = new byte[16];

        Assert.Equal(4, SocketAddressCodec.Read(plain, fromPlain, out var plainPort));
        Assert.Equal(4, SocketAddressCodec.Read(mapped, fromMapped, out var mappedPort));

        Assert.Equal(fromPlain, fromMapped);
        Assert.Equal(plainPort, mappedPort);
    }

    [Fact]
    public void Read_SocketAddressOfAnotherFamily_ReturnsZero()
    {
        var socketAddress = new SocketAddress(AddressFamily.Unix, 32);
        var address = Filled(16);

        Assert.Equal(0, SocketAddressCodec.Read(socketAddress, address, out _));
        Assert.All(address, value => Assert.Equal(0xCC, value));
    }

    [Theory]
    [InlineData(AddressFamily.Unknown)]
    [InlineData(AddressFamily.Unspecified)]
    [InlineData(AddressFamily.Unix)]
    [InlineData(AddressFamily.AppleTalk)]
    public void Read_RawBytesOfAnUnknownFamily_ReturnsZero(AddressFamily family)
    {
        var socketAddress = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 80).Serialize();
        var address = Filled(16);

        var length = SocketAddressCodec.Read(family, socketAddress.Buffer.Span[..socketAddress.Size], address, out _);

        Assert.Equal(0, length);
        Assert.All(address, value => Assert.Equal(0xCC, value));
    }

    private static byte[] Filled(int length)
    {
        var buffer = new byte[length];
        buffer.AsSpan().Fill(0xCC);
        return buffer;
    }
}
