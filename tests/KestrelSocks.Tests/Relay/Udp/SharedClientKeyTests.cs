using System.Net;
using System.Net.Sockets;
using KestrelSocks.Relay.Udp;

namespace KestrelSocks.Tests.Relay.Udp;

public sealed class SharedClientKeyTests
{
    [Theory]
    [InlineData("127.0.0.1", 40000)]
    [InlineData("203.0.113.7", 1)]
    [InlineData("2001:db8::7", 65535)]
    [InlineData("::1", 5353)]
    public void TheKeyOfADeclaredEndPoint_EqualsTheKeyOfTheSockaddrItsDatagramsArriveWith(string address, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        var declared = SharedClientKey.From(endPoint.Address, port);

        // A dual-mode socket reports an IPv4 client as IPv4-mapped IPv6; an IPv4 socket as sockaddr_in.
        var v6 = new IPEndPoint(endPoint.Address.MapToIPv6(), port).Serialize();
        Assert.Equal(declared, SharedClientKey.From(AddressFamily.InterNetworkV6, v6.Buffer.Span[..v6.Size]));
        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            var v4 = endPoint.Serialize();
            Assert.Equal(declared, SharedClientKey.From(AddressFamily.InterNetwork, v4.Buffer.Span[..v4.Size]));
        }

        Assert.Equal(endPoint.ToString(), declared.ToString());
        Assert.Equal(declared.GetHashCode(), SharedClientKey.From(IPAddress.Parse(address), port).GetHashCode());
    }

    [Fact]
    public void KeysDifferByAddressAndByPort_AndAddressOnlyDropsThePort()
    {
        var key = SharedClientKey.From(IPAddress.Parse("127.0.0.1"), 40000);

        Assert.NotEqual(key, SharedClientKey.From(IPAddress.Parse("127.0.0.1"), 40001));
        Assert.NotEqual(key, SharedClientKey.From(IPAddress.Parse("127.0.0.2"), 40000));
        Assert.NotEqual(key, SharedClientKey.From(IPAddress.Parse("::ffff:127.0.0.1").MapToIPv4().MapToIPv6(), 40001));
        Assert.Equal(SharedClientKey.From(IPAddress.Parse("127.0.0.1"), 0), key.AddressOnly);
        Assert.Equal(0, key.AddressOnly.Port);
    }
}
