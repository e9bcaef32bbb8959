using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Tests.Relay.Udp;

/// <summary>
/// One turn of a relay loop (<see cref="UdpEventLoop.Drain"/>) on a real association over 127.0.0.1, driven by the
/// test instead of a loop thread (the association is not started, so no loop watches it). Linux only.
/// </summary>
public sealed class UdpEventLoopTests : IDisposable
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(10);
    private static readonly long _maxQueueDelay = (long)TimeSpan.FromMilliseconds(50).TotalNanoseconds;

    private readonly TestMeterFactory _meterFactory = new();
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
    public void Drain_RelaysTheClientsDatagrams_AndTheRepliesBack()
    {
        if (!OperatingSystem.IsLinux())
        {
            // The relay loops are the Linux engine.
            return;
        }

        var (association, batch, metrics, traffic) = Create();
        SendFromClient(association, "one"u8);
        SendFromClient(association, "two"u8);

        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance);

        Assert.Equal("one"u8.ToArray(), Receive(_destination));
        Assert.Equal("two"u8.ToArray(), Receive(_destination));
        Assert.Equal(2, traffic.UpstreamDatagrams);

        _destination.SendTo("back"u8.ToArray(), association.RelayEndPoint);
        WaitReadable(association.ClientSocket);
        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance);

        var reply = Receive(_client);
        Assert.Equal(UdpHeaderStatus.Valid, Socks5UdpHeader.TryParse(reply, out _, out var source, out var headerLength));
        Assert.Equal((IPEndPoint)_destination.LocalEndPoint!, new IPEndPoint(source.ToIPAddress(), source.Port));
        Assert.Equal("back"u8.ToArray(), reply[headerLength..]);
        Assert.Equal(1, traffic.DownstreamDatagrams);
    }

    [Fact]
    public void Drain_DatagramsThatWaitedLongerThanMaxQueueDelay_AreDroppedAndCounted()
    {
        if (!OperatingSystem.IsLinux())
        {
            // The relay loops are the Linux engine.
            return;
        }

        var (association, batch, metrics, traffic) = Create();
        UdpBatch.StampArrivals(association.ClientSocket);
        using var drops = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.udp.drops");
        SendFromClient(association, "stale 1"u8);
        SendFromClient(association, "stale 2"u8);

        // The loop reaches them a second after they arrived: both are stale.
        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance, _maxQueueDelay, UdpBatch.Now() + 1_000_000_000);

        var drop = Assert.Single(drops.GetMeasurementSnapshot());
        Assert.Equal(2, drop.Value);
        Assert.Equal("queue_delay", drop.Tags[MetricNames.DropReasonTag]);
        Assert.Equal(0, traffic.UpstreamDatagrams);
        Assert.Equal(0, _destination.Available);

        // Reached at once, the next one goes through.
        SendFromClient(association, "fresh"u8);
        UdpEventLoop.Drain(association, association.ClientSocket, batch, metrics, traffic, NullLogger.Instance, _maxQueueDelay, UdpBatch.Now());

        Assert.Equal("fresh"u8.ToArray(), Receive(_destination));
        Assert.Single(drops.GetMeasurementSnapshot());
    }

    [Theory]
    [InlineData(1_000, 1_010, 0, 1_010)] // a first pass that did not wait starts a spell
    [InlineData(1_000, 1_010, 500, 500)] // later passes that did not wait keep its start
    [InlineData(1_000, 1_051, 500, 0)] // a wait ends it
    [InlineData(1_000, 1_050, 500, 500)] // exactly the bound still counts as not waiting
    public void BusySpell_StartsWithThePassesThatFindEventsWaiting_AndEndsWithAWait(long before, long after, long busySince, long expected)
    {
        if (!OperatingSystem.IsLinux())
        {
            // The relay loops are the Linux engine.
            return;
        }

        Assert.Equal(expected, UdpEventLoop.BusySpell(before, after, busySince, waitedTicks: 50));
    }

    [SupportedOSPlatform("linux")]
    private (UdpAssociation Association, UdpBatch Batch, SocksMetrics Metrics, UdpTraffic Traffic) Create()
    {
        var options = Options.Create(new KestrelSocksOptions());
        options.Value.Udp.EventLoopThreads = 1;
        var metrics = new SocksMetrics(_meterFactory);
        var relay = new UdpRelay(options, metrics, TestAccess.Unguarded(metrics), KestrelSocks.Sockets.DescriptorBudget.Create(options.Value.Limits), TimeProvider.System, NullLogger<UdpRelay>.Instance);
        _owned.Add(relay);
        var association = new UdpAssociation(relay, new UdpAssociationSettings
        {
            ClientAddress = IPAddress.Loopback,
            ClientPort = ((IPEndPoint)_client.LocalEndPoint!).Port,
            ControlLocalAddress = IPAddress.Loopback,
            User = "-",
            ConnectionId = "test",
        }, id: 1);
        _owned.Add(association);
        var batch = new UdpBatch();
        _owned.Add(batch);
        return (association, batch, metrics, metrics.CreateUdpTraffic());
    }

    private void SendFromClient(UdpAssociation association, ReadOnlySpan<byte> payload)
    {
        var datagram = new byte[10 + payload.Length];
        Socks5UdpHeader.Write(datagram, 0, Socks5Address.FromEndPoint((IPEndPoint)_destination.LocalEndPoint!));
        payload.CopyTo(datagram.AsSpan(10));
        _client.SendTo(datagram, association.RelayEndPoint);
        WaitReadable(association.ClientSocket);
    }

    private static byte[] Receive(Socket socket)
    {
        WaitReadable(socket);
        var buffer = new byte[2048];
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
