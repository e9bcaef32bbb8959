using System.Net;
using KestrelSocks.Relay.Udp;

namespace KestrelSocks.Tests.Relay.Udp;

public sealed class DestinationKeyTests
{
    [Fact]
    public void IPv4AndItsMappedForm_GiveEqualKeys()
    {
        var ipv4 = Key("192.0.2.10", 53);
        var mapped = Key("::ffff:192.0.2.10", 53);

        Assert.Equal(ipv4, mapped);
        Assert.Equal(ipv4.GetHashCode(), mapped.GetHashCode());
        Assert.Equal(new UInt128(0, 0xFFFF_C000_020A), ipv4.Address);
        Assert.Equal(53, ipv4.Port);
    }

    [Fact]
    public void IPv6_KeepsAllSixteenBytesInNetworkOrder()
    {
        var key = Key("2001:db8::1", 443);

        Assert.Equal(new UInt128(0x2001_0DB8_0000_0000, 1), key.Address);
        Assert.Equal(443, key.Port);
    }

    [Theory]
    [InlineData("192.0.2.10", 53, "192.0.2.10", 54)]
    [InlineData("192.0.2.10", 53, "192.0.2.11", 53)]
    [InlineData("192.0.2.10", 53, "10.192.0.2", 53)]
    [InlineData("192.0.2.10", 53, "::ffff:192.0.2.11", 53)]
    [InlineData("2001:db8::1", 443, "2001:db8::2", 443)]
    [InlineData("2001:db8::1", 443, "2001:db8::1", 444)]
    [InlineData("::1", 1, "0.0.0.1", 1)]
    [InlineData("192.0.2.10", 80, "::c000:20a", 80)]
    [InlineData("0.0.0.0", 0, "::", 0)]
    public void DifferentAddressesOrPorts_GiveDifferentKeys(string firstAddress, int firstPort, string secondAddress, int secondPort)
    {
        Assert.NotEqual(Key(firstAddress, firstPort), Key(secondAddress, secondPort));
    }

    [Fact]
    public void AsDictionaryKey_FindsAnIPv4DestinationByItsMappedForm()
    {
        var targets = new Dictionary<DestinationKey, string>
        {
            [Key("192.0.2.10", 53)] = "v4",
            [Key("2001:db8::1", 53)] = "v6",
        };

        Assert.Equal("v4", targets[Key("::ffff:192.0.2.10", 53)]);
        Assert.Equal("v6", targets[Key("2001:db8::1", 53)]);
        Assert.False(targets.ContainsKey(Key("192.0.2.10", 54)));
    }

    private static DestinationKey Key(string address, int port) =>
        DestinationKey.Create(IPAddress.Parse(address).GetAddressBytes(), (ushort)port);
}
