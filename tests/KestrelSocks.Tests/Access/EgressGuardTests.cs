using System.Net;
using KestrelSocks.Access;

namespace KestrelSocks.Tests.Access;

public sealed class EgressGuardTests
{
    // Each guarded range by its first and last address, and the addresses just outside it.
    [Theory]
    [InlineData("0.0.0.0", true)]
    [InlineData("0.255.255.255", true)]
    [InlineData("1.0.0.0", false)]
    [InlineData("9.255.255.255", false)]
    [InlineData("10.0.0.0", true)]
    [InlineData("10.255.255.255", true)]
    [InlineData("11.0.0.0", false)]
    [InlineData("100.63.255.255", false)]
    [InlineData("100.64.0.0", true)]
    [InlineData("100.127.255.255", true)]
    [InlineData("100.128.0.0", false)]
    [InlineData("126.255.255.255", false)]
    [InlineData("127.0.0.0", true)]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.255.255.255", true)]
    [InlineData("128.0.0.0", false)]
    [InlineData("169.253.255.255", false)]
    [InlineData("169.254.0.0", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("169.254.255.255", true)]
    [InlineData("169.255.0.0", false)]
    [InlineData("172.15.255.255", false)]
    [InlineData("172.16.0.0", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("172.32.0.0", false)]
    [InlineData("192.167.255.255", false)]
    [InlineData("192.168.0.0", true)]
    [InlineData("192.168.255.255", true)]
    [InlineData("192.169.0.0", false)]
    [InlineData("223.255.255.255", false)]
    [InlineData("224.0.0.0", true)]
    [InlineData("239.255.255.255", true)]
    [InlineData("240.0.0.0", true)]
    [InlineData("255.255.255.254", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("192.0.2.1", false)]
    public void IPv4(string address, bool guarded)
    {
        AssertGuarded(address, guarded);

        // The same address in every IPv6 form that carries it.
        var ipv4 = IPAddress.Parse(address).GetAddressBytes();
        var hex = $"{ipv4[0]:x2}{ipv4[1]:x2}:{ipv4[2]:x2}{ipv4[3]:x2}";
        AssertGuarded($"::ffff:{address}", guarded);
        AssertGuarded($"64:ff9b::{address}", guarded);
        AssertGuarded($"::ffff:0:{address}", guarded);
        AssertGuarded($"2002:{hex}::1", guarded);
        AssertGuarded($"2002:{hex}:ffff:ffff:ffff:ffff:ffff", guarded);
        AssertGuarded($"::{address}", guarded);
    }

    [Theory]
    [InlineData("::", true)]
    [InlineData("::1", true)]
    [InlineData("::2", true)]
    [InlineData("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false)]
    [InlineData("fe80::", true)]
    [InlineData("fe80::1", true)]
    [InlineData("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("fec0::1", true)]
    [InlineData("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false)]
    [InlineData("fc00::", true)]
    [InlineData("fd12:3456::1", true)]
    [InlineData("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("fe00::", false)]
    [InlineData("ff00::", true)]
    [InlineData("ff02::1", true)]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("64:ff9b:1::", true)]
    [InlineData("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("64:ff9b:2::", false)]
    [InlineData("64:ff9b:0:1::7f00:1", false)]
    [InlineData("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("2606:4700::1111", false)]
    [InlineData("2003:7f00:1::", false)]
    [InlineData("2001::7f00:1", false)]
    public void IPv6(string address, bool guarded) => AssertGuarded(address, guarded);

    [Theory]
    [InlineData("127.0.0.1", 104)]
    [InlineData("::ffff:127.0.0.1", 104)]
    [InlineData("10.1.2.3", 104)]
    [InlineData("169.254.169.254", 112)]
    [InlineData("224.0.0.1", 100)]
    [InlineData("::1", 128)]
    [InlineData("fe80::1", 10)]
    [InlineData("64:ff9b::127.0.0.1", 104)]
    [InlineData("2002:7f00:1::", 24)]
    [InlineData("64:ff9b:1::1", 48)]
    public void ThePrefixOfTheGuardedBlock_IsInTheAddressesOwnForm(string address, int prefixLength)
    {
        Assert.True(EgressGuard.IsGuarded(AddressKey.From(IPAddress.Parse(address)), out var actual));
        Assert.Equal(prefixLength, actual);
    }

    [Fact]
    public void ScopeIds_AreIgnored()
    {
        Assert.True(EgressGuard.IsGuarded(AddressKey.From(IPAddress.Parse("::1%1")), out _));
        Assert.True(EgressGuard.IsGuarded(AddressKey.From(IPAddress.Parse("fe80::1%2")), out _));
    }

    private static void AssertGuarded(string address, bool guarded) =>
        Assert.True(guarded == EgressGuard.IsGuarded(AddressKey.From(IPAddress.Parse(address)), out _), $"{address} should {(guarded ? "" : "not ")}be guarded");
}
