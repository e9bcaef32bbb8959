using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Relay.Udp;

public sealed class DestinationTableTests
{
    private static readonly byte[] _first = [192, 0, 2, 1];

    [Fact]
    public void GetTarget_AllowedIPv4_IsTheMappedSocketAddress_AndContacted()
    {
        var table = CreateTable();

        var target = table.GetTarget(_first, 53);

        Assert.NotNull(target);
        Assert.Equal(AddressFamily.InterNetworkV6, target.Family);
        var endPoint = (IPEndPoint)new IPEndPoint(IPAddress.IPv6Any, 0).Create(target);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1").MapToIPv6(), 53), endPoint);
        Assert.True(table.IsContacted(_first, 53));
        Assert.False(table.IsContacted(_first, 54));
        Assert.False(table.IsContacted([192, 0, 2, 2], 53));
    }

    [Fact]
    public void GetTarget_TheSameDestinationTwice_ReturnsTheSameObject()
    {
        var table = CreateTable();

        Assert.Same(table.GetTarget(_first, 53), table.GetTarget(_first, 53));
    }

    [Fact]
    public void GetTarget_Refused_IsNull_AndNeverContacted()
    {
        var table = CreateTable(denied: "192.0.2.0/24");

        Assert.Null(table.GetTarget(_first, 53));
        Assert.False(table.IsContacted(_first, 53));
    }

    [Fact]
    public void GetTarget_Refused_NamesTheRule_AndTheGuardRefusesLoopbackByDefault()
    {
        var table = CreateTable(denied: "192.0.2.0/24");

        Assert.Null(table.GetTarget(_first, 53, default, out var deniedBy));
        Assert.Equal("denied-destinations", deniedBy);
        Assert.Null(table.GetTarget([127, 0, 0, 1], 53, default, out deniedBy));
        Assert.Equal("egress-guard", deniedBy);

        // Cached: the second time says the same.
        Assert.Null(table.GetTarget([127, 0, 0, 1], 53, default, out deniedBy));
        Assert.Equal("egress-guard", deniedBy);
    }

    [Fact]
    public void Reload_EmptiesTheCache_AndTheContactedSet()
    {
        var policy = TestAccess.Policy(new AccessOptions());
        var table = new DestinationTable(policy, dualMode: true);
        Assert.NotNull(table.GetTarget(_first, 53));
        Assert.True(table.IsContacted(_first, 53));

        Assert.True(policy.TryReload(new AccessOptions { DeniedDestinations = ["192.0.2.0/24"] }));

        Assert.Null(table.GetTarget(_first, 53, default, out var deniedBy));
        Assert.Equal("denied-destinations", deniedBy);
        Assert.False(table.IsContacted(_first, 53));

        Assert.True(policy.TryReload(new AccessOptions()));
        Assert.NotNull(table.GetTarget(_first, 53));
    }

    [Fact]
    public void DomainRules_DecideByTheNameTheClientSent_NotByTheCachedAddress()
    {
        var options = new AccessOptions();
        options.Rules.Add(new AccessRuleOptions { Name = "no-bad", Action = "Deny", Domains = ["bad.example"] });
        var table = new DestinationTable(TestAccess.Policy(options), dualMode: true);

        // One address, reached by two names and by itself: only the refused name is refused, every time.
        Assert.NotNull(table.GetTarget(_first, 53, "good.example"u8, out _));
        Assert.Null(table.GetTarget(_first, 53, "BAD.example."u8, out var deniedBy));
        Assert.Equal("no-bad", deniedBy);
        Assert.NotNull(table.GetTarget(_first, 53));
        Assert.Same(table.GetTarget(_first, 53, "good.example"u8, out _), table.GetTarget(_first, 53, "good.example"u8, out _));
        Assert.False(table.AllowsName("bad.example"u8, 53, out deniedBy));
        Assert.Equal("no-bad", deniedBy);
        Assert.True(table.AllowsName("good.example"u8, 53, out _));
    }

    [Fact]
    public void Rules_SeeTheAssociationsClientAndUser()
    {
        var options = new AccessOptions();
        options.Rules.Add(new AccessRuleOptions { Name = "bob-no-dns", Action = "Deny", Users = ["bob"], Ports = ["53"] });
        var policy = TestAccess.Policy(options);
        var bob = new DestinationTable(policy, dualMode: true, IPAddress.Parse("198.51.100.7"), "bob");
        var alice = new DestinationTable(policy, dualMode: true, IPAddress.Parse("198.51.100.7"), "alice");

        Assert.Null(bob.GetTarget(_first, 53, default, out var deniedBy));
        Assert.Equal("bob-no-dns", deniedBy);
        Assert.NotNull(bob.GetTarget(_first, 54));
        Assert.NotNull(alice.GetTarget(_first, 53));
    }

    [Fact]
    public void GetTarget_IPv6OnAnIPv4OnlySocket_IsNull()
    {
        var table = CreateTable(dualMode: false);

        Assert.Null(table.GetTarget(IPAddress.Parse("2001:db8::1").GetAddressBytes(), 53));
        Assert.NotNull(table.GetTarget(_first, 53));
    }

    [Fact]
    public void ManyMoreDestinationsThanTheCacheHolds_TheFirstStaysContacted()
    {
        // The cache of socket addresses starts over when full; the contacted set must not start over with it, or a
        // client that talks to many destinations loses the replies of the one it is talking to.
        var table = CreateTable();
        table.GetTarget(_first, 53);

        for (var i = 0; i < DestinationTable.MaxCached * 2; i++)
        {
            Assert.NotNull(table.GetTarget(Address(i), 9));
        }

        Assert.True(table.IsContacted(_first, 53));
        Assert.True(table.IsContacted(Address(0), 9));
        Assert.Equal(DestinationTable.MaxCached * 2 + 1, table.ContactedCount);
    }

    [Fact]
    public void PastMaxContacted_TheOldestLeaves_AndContactingItAgainBringsItBack()
    {
        var table = CreateTable();
        table.GetTarget(_first, 53);

        for (var i = 0; i < DestinationTable.MaxContacted; i++)
        {
            table.GetTarget(Address(i), 9);
        }

        Assert.Equal(DestinationTable.MaxContacted, table.ContactedCount);
        Assert.False(table.IsContacted(_first, 53));
        Assert.True(table.IsContacted(Address(0), 9));

        // Sending to it again contacts it anew, even if its socket address were still cached.
        Assert.NotNull(table.GetTarget(_first, 53));
        Assert.True(table.IsContacted(_first, 53));
        Assert.Equal(DestinationTable.MaxContacted, table.ContactedCount);
        Assert.False(table.IsContacted(Address(0), 9));
    }

    private static byte[] Address(int i)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, (198 << 24) | (18 << 16) | i);
        return bytes;
    }

    private static DestinationTable CreateTable(string? denied = null, bool dualMode = true)
    {
        var options = new AccessOptions();
        if (denied is not null)
        {
            options.DeniedDestinations = [denied];
        }

        return new DestinationTable(TestAccess.Policy(options), dualMode);
    }
}
