using System.Net;
using System.Net.NetworkInformation;
using KestrelSocks.Access;

namespace KestrelSocks.Tests.Access;

public sealed class SelfEndPointsTests
{
    [Fact]
    public void ASpecificListener_IsItsAddressAndPortOnly()
    {
        var self = SelfEndPoints.Create([new IPEndPoint(IPAddress.Parse("127.0.0.1"), 1080), new IPEndPoint(IPAddress.IPv6Loopback, 9464)]);

        Assert.True(Contains(self, "127.0.0.1", 1080));
        Assert.True(Contains(self, "::ffff:127.0.0.1", 1080));
        Assert.True(Contains(self, "::1", 9464));
        Assert.False(Contains(self, "127.0.0.1", 1081));
        Assert.False(Contains(self, "127.0.0.2", 1080));
        Assert.False(Contains(self, "::1", 1080));
    }

    [Fact]
    public void AWildcardListener_IsItsPortOnEveryLocalAddress()
    {
        var self = SelfEndPoints.Create([new IPEndPoint(IPAddress.IPv6Any, 9464)]);

        Assert.True(Contains(self, "127.0.0.1", 9464));
        Assert.True(Contains(self, "127.10.20.30", 9464));
        Assert.True(Contains(self, "::1", 9464));
        Assert.False(Contains(self, "127.0.0.1", 9465));
        Assert.False(Contains(self, "192.0.2.1", 9464));

        var local = NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => !IPAddress.IsLoopback(a));
        if (local is not null)
        {
            Assert.True(self.Contains(AddressKey.From(local), 9464), $"{local} is this host's");
        }
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("::ffff:0.0.0.0")]
    public void TheUnspecifiedAddress_IsThisHostAtAnyPort(string address)
    {
        Assert.True(Contains(SelfEndPoints.None, address, 1));
        Assert.True(Contains(SelfEndPoints.None, address, 65535));
    }

    private static bool Contains(SelfEndPoints self, string address, int port) => self.Contains(AddressKey.From(IPAddress.Parse(address)), port);
}
