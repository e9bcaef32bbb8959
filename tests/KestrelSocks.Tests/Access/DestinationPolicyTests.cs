using System.Net;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Tests.Access;

public sealed class DestinationPolicyTests
{
    [Fact]
    public void NoRules_AllowsEveryRealAddress()
    {
        var policy = CreatePolicy([], []);
        Assert.True(policy.IsAllowed(IPAddress.Parse("10.0.0.1")));
        Assert.True(policy.IsAllowed(IPAddress.Loopback));
        Assert.True(policy.IsAllowed(IPAddress.IPv6Loopback));
        Assert.True(policy.IsAllowed(IPAddress.Parse("2001:db8::1")));
    }

    [Theory]
    [InlineData("10.0.0.0", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("10.255.255.255", true)]
    [InlineData("192.0.2.1", true)]
    [InlineData("11.0.0.0", false)]
    [InlineData("9.255.255.255", false)]
    [InlineData("192.0.2.2", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("::ffff:10.1.2.3", true)]
    [InlineData("::ffff:11.1.2.3", false)]
    public void AllowList_OnlyAllowsListedNetworks(string address, bool allowed)
    {
        var policy = CreatePolicy(["10.0.0.0/8", "192.0.2.1/32"], []);
        Assert.Equal(allowed, policy.IsAllowed(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.255.255.254", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("169.254.169.253", true)]
    [InlineData("128.0.0.1", true)]
    [InlineData("8.8.8.8", true)]
    [InlineData("::1", false)]
    [InlineData("fd12:3456::1", false)]
    [InlineData("fe80::1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::ffff:169.254.169.254", false)]
    [InlineData("::ffff:8.8.8.8", true)]
    public void DenyList_RefusesListedNetworks(string address, bool allowed)
    {
        var policy = CreatePolicy([], ["127.0.0.0/8", "169.254.169.254/32", "::1/128", "fd00::/8"]);
        Assert.Equal(allowed, policy.IsAllowed(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("10.2.0.1", true)]
    [InlineData("10.1.0.1", false)]
    [InlineData("10.1.255.255", false)]
    [InlineData("192.0.2.1", false)]
    [InlineData("2001:db8::1", true)]
    [InlineData("2001:db8:bad::1", false)]
    [InlineData("2001:db9::1", false)]
    [InlineData("::ffff:10.2.0.1", true)]
    [InlineData("::ffff:10.1.0.1", false)]
    public void AllowAndDeny_DenyWinsInsideTheAllowedNetworks(string address, bool allowed)
    {
        var policy = CreatePolicy(["10.0.0.0/8", "2001:db8::/32"], ["10.1.0.0/16", "2001:db8:bad::/48"]);
        Assert.Equal(allowed, policy.IsAllowed(IPAddress.Parse(address)));
    }

    [Fact]
    public void IPv4MappedIPv6_MatchesIPv4Rules()
    {
        var denyLoopback = CreatePolicy([], ["127.0.0.0/8"]);
        var allowDocumentation = CreatePolicy(["198.51.100.0/24"], []);
        var mapped = IPAddress.Parse("127.0.0.1").MapToIPv6();

        Assert.True(mapped.IsIPv4MappedToIPv6);
        Assert.False(denyLoopback.IsAllowed(mapped));
        Assert.True(allowDocumentation.IsAllowed(IPAddress.Parse("198.51.100.20").MapToIPv6()));
        Assert.False(allowDocumentation.IsAllowed(IPAddress.Parse("198.51.101.20").MapToIPv6()));
    }

    [Fact]
    public void IPv4MappedIPv6_IsAnIPv4Destination_NotCoveredByIPv6Rules()
    {
        // A connect to ::ffff:a.b.c.d leaves over IPv4, so an IPv6-only allow list must not let it through.
        var ipv6Only = CreatePolicy(["::/0"], []);

        Assert.True(ipv6Only.IsAllowed(IPAddress.Parse("2001:db8::1")));
        Assert.False(ipv6Only.IsAllowed(IPAddress.Parse("::ffff:192.0.2.1")));
        Assert.False(ipv6Only.IsAllowed(IPAddress.Parse("192.0.2.1")));
    }

    [Fact]
    public void AllowEverythingRules_AllowBothFamilies()
    {
        var policy = CreatePolicy(["0.0.0.0/0", "::/0"], []);
        Assert.True(policy.IsAllowed(IPAddress.Parse("203.0.113.9")));
        Assert.True(policy.IsAllowed(IPAddress.Parse("2001:db8::9")));
    }

    [Fact]
    public void NetworkWithHostBits_CoversTheWholeNetwork()
    {
        // Since .NET 10, IPNetwork clears the bits after the prefix: 10.1.2.3/8 is 10.0.0.0/8.
        var policy = CreatePolicy([], ["10.1.2.3/8"]);

        Assert.False(policy.IsAllowed(IPAddress.Parse("10.200.0.1")));
        Assert.True(policy.IsAllowed(IPAddress.Parse("11.0.0.1")));
    }

    private static DestinationPolicy CreatePolicy(string[] allowed, string[] denied)
    {
        var options = new KestrelSocksOptions();
        options.Access.AllowedDestinations = allowed;
        options.Access.DeniedDestinations = denied;
        return new DestinationPolicy(Options.Create(options));
    }
}
