using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Relay.Udp;

/// <summary>
/// A user's bandwidth on the datagram path: each payload is taken from the user's bucket for its direction, and one
/// the bucket cannot cover is dropped and counted as <c>bandwidth</c>. Driven through a relay loop's turn
/// (<see cref="UdpEventLoop.Drain"/>) on a real association over 127.0.0.1, with the buckets on a fake clock. Linux only.
/// </summary>
public sealed class UdpAssociationBandwidthTests : IDisposable
{
    private const int Rate = 64 * 1024;
    private const int Payload = 30_000;
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(10);

    private readonly TestMeterFactory _meterFactory = new();
    private readonly FakeTimeProvider _time = new();
    private readonly Socket _client = Bound();
    private readonly Socket _destination = Bound();
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var item in Enumerable.Reverse(_owned))
        {
            item.Dispose();
        }

        _client.Dispose();
        _destination.Dispose();
        _meterFactory.Dispose();
    }

    [Fact]
    public void ClientDatagrams_PastTheUsersRate_AreDroppedAndCounted_UntilTheBucketRefills()
    {
        if (!OperatingSystem.IsLinux())
        {
            // The relay loops are the Linux engine.
            return;
        }

        using var drops = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.udp.drops");
        var (association, batch, metrics, traffic, slot) = Create();

        // A full bucket (64 KiB) covers two 30,000-byte payloads, not a third.
        for (var i = 0; i < 3; i++)
        {
            SendFromClient(association, i);
        }

        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance);

        Assert.Equal(0, Receive(_destination)[0]);
        Assert.Equal(1, Receive(_destination)[0]);
        Assert.Equal(2, traffic.UpstreamDatagrams);
        var drop = Assert.Single(drops.GetMeasurementSnapshot());
        Assert.Equal("bandwidth", drop.Tags[MetricNames.DropReasonTag]);

        // The other direction has a bucket of its own, still full.
        Assert.Equal(Rate, slot.Allowance.Downstream!.Available);

        // Half a second of the rate refills enough for one more.
        _time.Advance(TimeSpan.FromSeconds(0.5));
        SendFromClient(association, 3);
        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance);

        Assert.Equal(3, Receive(_destination)[0]);
        Assert.Equal(3, traffic.UpstreamDatagrams);
        Assert.Single(drops.GetMeasurementSnapshot());
    }

    [Fact]
    public void Replies_PastTheUsersRate_AreDroppedAndCounted()
    {
        if (!OperatingSystem.IsLinux())
        {
            // The relay loops are the Linux engine.
            return;
        }

        using var drops = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.udp.drops");
        var (association, batch, metrics, traffic, _) = Create();

        // The client speaks first with a small datagram, so the destination counts as contacted.
        SendFromClient(association, 0, length: 1);
        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance);
        Receive(_destination);

        for (byte i = 0; i < 3; i++)
        {
            var reply = new byte[Payload];
            reply[0] = i;
            _destination.SendTo(reply, association.RelayEndPoint);
        }

        WaitReadable(association.ClientSocket);
        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance);

        Assert.Equal(2, traffic.DownstreamDatagrams);
        for (var i = 0; i < 2; i++)
        {
            var reply = Receive(_client);
            Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(reply, out _, out _, out var headerLength));
            Assert.Equal(Payload, reply.Length - headerLength);
            Assert.Equal(i, reply[headerLength]);
        }

        var drop = Assert.Single(drops.GetMeasurementSnapshot());
        Assert.Equal("bandwidth", drop.Tags[MetricNames.DropReasonTag]);
    }

    [SupportedOSPlatform("linux")]
    private (UdpAssociation Association, UdpBatch Batch, SocksMetrics Metrics, UdpTraffic Traffic, UdpAssociationSlot Slot) Create()
    {
        var options = Options.Create(new KestrelSocksOptions());
        options.Value.Udp.EventLoopThreads = 1;
        options.Value.Limits.PerUser.Bandwidth = Rate;
        var metrics = new SocksMetrics(_meterFactory);
        var limits = new UserLimits(options, metrics, _time, NullLoggerFactory.Instance);
        var slot = limits.TryOpenSession("alice", (byte)KestrelSocks.Protocol.Socks5Command.UdpAssociate)!.TryOpenUdpAssociation()!;
        var relay = new UdpRelay(options, metrics, TestAccess.Unguarded(metrics), KestrelSocks.Sockets.DescriptorBudget.Create(options.Value.Limits), TimeProvider.System, NullLogger<UdpRelay>.Instance);
        _owned.Add(relay);
        var association = new UdpAssociation(relay, new UdpAssociationSettings
        {
            ClientAddress = IPAddress.Loopback,
            ClientPort = ((IPEndPoint)_client.LocalEndPoint!).Port,
            ControlLocalAddress = IPAddress.Loopback,
            User = "alice",
            ConnectionId = "test",
            UserSlot = slot,
        }, id: 1);
        _owned.Add(association);
        var batch = new UdpBatch();
        _owned.Add(batch);
        return (association, batch, metrics, metrics.CreateUdpTraffic(), slot);
    }

    /// <summary>A datagram to the destination whose payload starts with <paramref name="marker"/>.</summary>
    private void SendFromClient(UdpAssociation association, int marker, int length = Payload)
    {
        var datagram = new byte[10 + length];
        Socks5UdpHeader.Write(datagram, 0, Socks5Address.FromEndPoint((IPEndPoint)_destination.LocalEndPoint!));
        datagram[10] = (byte)marker;
        _client.SendTo(datagram, association.RelayEndPoint);
        WaitReadable(association.ClientSocket);
    }

    private static byte[] Receive(Socket socket)
    {
        WaitReadable(socket);
        var buffer = new byte[64 * 1024];
        var length = socket.Receive(buffer);
        return buffer[..length];
    }

    private static void WaitReadable(Socket socket) =>
        Assert.True(socket.Poll(_timeout, SelectMode.SelectRead), "No datagram arrived in time.");

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
