using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Relay.Udp;
using Microsoft.Extensions.Options;

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
        var options = new KestrelSocksOptions();
        if (denied is not null)
        {
            options.Access.DeniedDestinations = [denied];
        }

        return new DestinationTable(new DestinationPolicy(Options.Create(options)), dualMode);
    }
}
