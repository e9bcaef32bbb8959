using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using KestrelSocks.Diagnostics;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace KestrelSocks.Tests.Relay.Udp;

/// <summary>
/// recvmmsg/sendmmsg batches between two real UDP sockets on 127.0.0.1. Linux only: elsewhere each test returns at
/// once, since the relay never batches there. Each test makes its own batch, as a relay loop does.
/// </summary>
public sealed class UdpBatchTests : IDisposable
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(10);

    private readonly Socket _relay = Bound();
    private readonly Socket _peer = Bound();
    private readonly TestMeterFactory _meterFactory = new();
    private readonly List<IDisposable> _batches = [];

    public void Dispose()
    {
        foreach (var batch in _batches)
        {
            batch.Dispose();
        }

        _relay.Dispose();
        _peer.Dispose();
        _meterFactory.Dispose();
    }

    [Fact]
    public void Receive_NothingQueued_ReturnsZero()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        Assert.Equal(0, FreshBatch().Receive(_relay, 0));
    }

    [Fact]
    public void Receive_TakesUpToSlotsDatagramsInOneCall()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        var datagrams = Enumerable.Range(0, UdpBatch.Slots + 3).Select(Datagram).ToList();
        foreach (var datagram in datagrams)
        {
            _peer.SendTo(datagram, _relay.LocalEndPoint!);
        }

        // Loopback queues a datagram before its send returns, so all of them are waiting now.
        WaitReadable(_relay);
        var first = batch.Receive(_relay, 0);

        Assert.Equal(UdpBatch.Slots, first);
        var peerPort = ((IPEndPoint)_peer.LocalEndPoint!).Port;
        for (var i = 0; i < first; i++)
        {
            AssertReceived(batch, i, offset: 0, datagrams[i], peerPort);
        }

        WaitReadable(_relay);
        var second = batch.Receive(_relay, 0);

        Assert.Equal(3, second);
        for (var i = 0; i < second; i++)
        {
            AssertReceived(batch, i, offset: 0, datagrams[UdpBatch.Slots + i], peerPort);
        }

        Assert.Equal(0, batch.Receive(_relay, 0));
    }

    [Fact]
    public void Receive_AtAnOffset_PutsEachDatagramBehindIt()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        const int Offset = 22;
        var batch = FreshBatch();
        batch.Slot(0)[..Offset].Fill(0xCC);
        batch.Slot(1)[..Offset].Fill(0xCC);
        byte[] first = [1, 2, 3];
        byte[] second = [.. Enumerable.Repeat((byte)0xAB, 1400)];
        _peer.SendTo(first, _relay.LocalEndPoint!);
        _peer.SendTo(second, _relay.LocalEndPoint!);

        WaitReadable(_relay);
        Assert.Equal(2, batch.Receive(_relay, Offset));

        var peerPort = ((IPEndPoint)_peer.LocalEndPoint!).Port;
        AssertReceived(batch, 0, Offset, first, peerPort);
        AssertReceived(batch, 1, Offset, second, peerPort);
        Assert.All(batch.Slot(0)[..Offset].ToArray(), value => Assert.Equal(0xCC, value));
        Assert.All(batch.Slot(1)[..Offset].ToArray(), value => Assert.Equal(0xCC, value));
    }

    [Fact]
    public void Receive_EmptyDatagram_HasLengthZero()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        _peer.SendTo([], _relay.LocalEndPoint!);

        WaitReadable(_relay);
        Assert.Equal(1, batch.Receive(_relay, 0));

        Assert.Equal(0, batch.Length(0));
    }

    [Fact]
    public void Receive_DatagramLongerThanTheRoomPastTheOffset_HasLengthMinusOne()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        _peer.SendTo(new byte[200], _relay.LocalEndPoint!);
        _peer.SendTo(new byte[100], _relay.LocalEndPoint!);

        // 100 bytes of room: the first datagram is cut, the second just fits.
        WaitReadable(_relay);
        Assert.Equal(2, batch.Receive(_relay, UdpBatch.SlotSize - 100));

        Assert.Equal(-1, batch.Length(0));
        Assert.Equal(100, batch.Length(1));
    }

    [Fact]
    public void Receive_LargestIPv4Datagram_FitsASlot()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        // 65,535 less the IPv4 and UDP headers; with the relay's header room in front it still fits.
        var batch = FreshBatch();
        var datagram = Enumerable.Range(0, 65_507).Select(i => (byte)i).ToArray();
        _relay.ReceiveBufferSize = 1024 * 1024;
        _peer.SendTo(datagram, _relay.LocalEndPoint!);

        WaitReadable(_relay);
        Assert.Equal(1, batch.Receive(_relay, 22));

        AssertReceived(batch, 0, 22, datagram, ((IPEndPoint)_peer.LocalEndPoint!).Port);
    }

    [Fact]
    public void Receive_StampedSocket_ReportsWhenEachDatagramArrived()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        UdpBatch.StampArrivals(_relay);
        var before = UdpBatch.Now();
        _peer.SendTo([1], _relay.LocalEndPoint!);
        WaitReadable(_relay);
        var after = UdpBatch.Now();

        Assert.Equal(1, batch.Receive(_relay, 0));

        // The kernel's clock and the runtime's are the same clock; a millisecond covers their rounding.
        var arrived = batch.ArrivedAt(0);
        Assert.InRange(arrived, before - 1_000_000, after + 1_000_000);
    }

    [Fact]
    public void Receive_UnstampedSocket_ReportsNoArrivalTime()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        _peer.SendTo([1], _relay.LocalEndPoint!);
        WaitReadable(_relay);

        Assert.Equal(1, batch.Receive(_relay, 0));
        Assert.Equal(0, batch.ArrivedAt(0));
    }

    [Fact]
    public void Flush_CountsPayloadLengths_NotTheWholeDatagrams()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        var metrics = new SocksMetrics(_meterFactory);
        var peerAddress = SocketAddressBytes(_peer.LocalEndPoint!);

        // A relayed reply carries a 10-byte SOCKS header in front of its payload; only the payload counts.
        Assert.True(batch.TryQueue(InSlot(batch, 0, Datagram(0)), Datagram(0).Length - 10, peerAddress));
        var bytes = Flush(batch, _relay, metrics, out var sent);

        Assert.Equal(1, sent);
        Assert.Equal(Datagram(0).Length - 10, bytes);
        Assert.Equal(Datagram(0), ReceiveOne(_peer).Item1);
    }

    [Fact]
    public void TryQueueAndFlush_SendEachDatagramByteExact()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        var metrics = new SocksMetrics(_meterFactory);
        using var drops = DropCollector();
        var peerAddress = SocketAddressBytes(_peer.LocalEndPoint!);
        var datagrams = Enumerable.Range(0, 3).Select(Datagram).ToList();
        for (var i = 0; i < datagrams.Count; i++)
        {
            Assert.True(Queue(batch, InSlot(batch, i, datagrams[i]), peerAddress));
        }

        var bytes = Flush(batch, _relay, metrics, out var sent);

        Assert.Equal(3, sent);
        Assert.Equal(datagrams.Sum(datagram => datagram.Length), bytes);
        Assert.Empty(drops.GetMeasurementSnapshot());
        var relayPort = ((IPEndPoint)_relay.LocalEndPoint!).Port;
        foreach (var datagram in datagrams)
        {
            var (received, from) = ReceiveOne(_peer);
            Assert.Equal(datagram, received);
            Assert.Equal(new IPEndPoint(IPAddress.Loopback, relayPort), from);
        }
    }

    [Fact]
    public void TryQueue_FullBatch_ReturnsFalse()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        var metrics = new SocksMetrics(_meterFactory);
        var peerAddress = SocketAddressBytes(_peer.LocalEndPoint!);
        for (var i = 0; i < UdpBatch.Slots; i++)
        {
            Assert.True(Queue(batch, InSlot(batch, i, Datagram(i)), peerAddress));
        }

        Assert.False(Queue(batch, batch.Slot(0)[..1], peerAddress));

        // A flush empties the queue, so it takes datagrams again.
        Flush(batch, _relay, metrics, out var sent);
        Assert.Equal(UdpBatch.Slots, sent);
        Assert.True(Queue(batch, batch.Slot(0)[..1], peerAddress));
        batch.Clear();

        for (var i = 0; i < UdpBatch.Slots; i++)
        {
            Assert.Equal(Datagram(i), ReceiveOne(_peer).Payload);
        }
    }

    [Fact]
    public void Flush_NothingQueued_SendsNothing()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        Assert.Equal(0, Flush(FreshBatch(), _relay, new SocksMetrics(_meterFactory), out var sent));
        Assert.Equal(0, sent);
    }

    [Fact]
    public void Clear_ForgetsQueuedDatagrams()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        var peerAddress = SocketAddressBytes(_peer.LocalEndPoint!);
        Assert.True(Queue(batch, InSlot(batch, 0, [1]), peerAddress));
        Assert.True(Queue(batch, InSlot(batch, 1, [2]), peerAddress));

        batch.Clear();

        Assert.Equal(0, Flush(batch, _relay, new SocksMetrics(_meterFactory), out var sent));
        Assert.Equal(0, sent);
    }

    /// <summary>Where in the queue the refused datagram sits, and how its destination is wrong.</summary>
    public static TheoryData<int, string> Refusals => new()
    {
        { 0, "port 0" },
        { 1, "port 0" },
        { 2, "port 0" },
        { 0, "IPv6 on an IPv4 socket" },
        { 1, "IPv6 on an IPv4 socket" },
        { 2, "IPv6 on an IPv4 socket" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Flush_RefusedDatagram_IsCountedAsADrop_AndTheOthersStillGo(int refusedIndex, string refusal)
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        var metrics = new SocksMetrics(_meterFactory);
        using var drops = DropCollector();
        var peerAddress = SocketAddressBytes(_peer.LocalEndPoint!);
        var refusedAddress = refusal == "port 0"
            ? SocketAddressBytes(new IPEndPoint(IPAddress.Loopback, 0))
            : SocketAddressBytes(new IPEndPoint(IPAddress.IPv6Loopback, ((IPEndPoint)_peer.LocalEndPoint!).Port));
        var datagrams = Enumerable.Range(0, 3).Select(Datagram).ToList();
        for (var i = 0; i < datagrams.Count; i++)
        {
            Assert.True(Queue(batch, InSlot(batch, i, datagrams[i]), i == refusedIndex ? refusedAddress : peerAddress));
        }

        var bytes = Flush(batch, _relay, metrics, out var sent);

        Assert.Equal(2, sent);
        var delivered = datagrams.Where((_, i) => i != refusedIndex).ToList();
        Assert.Equal(delivered.Sum(datagram => datagram.Length), bytes);
        var drop = Assert.Single(drops.GetMeasurementSnapshot());
        Assert.Equal(1, drop.Value);
        Assert.Equal(MetricNames.GetDropReasonName(UdpDropReason.SendFailure), drop.Tags[MetricNames.DropReasonTag]);
        foreach (var datagram in delivered)
        {
            Assert.Equal(datagram, ReceiveOne(_peer).Payload);
        }

        // The queue is empty again after a flush with a failure in it.
        Assert.Equal(0, Flush(batch, _relay, metrics, out sent));
        Assert.Equal(0, sent);
    }

    [Fact]
    public void Flush_EveryDatagramRefused_CountsEachDrop()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        var batch = FreshBatch();
        var metrics = new SocksMetrics(_meterFactory);
        using var drops = DropCollector();
        var refusedAddress = SocketAddressBytes(new IPEndPoint(IPAddress.Loopback, 0));
        for (var i = 0; i < 4; i++)
        {
            Assert.True(Queue(batch, InSlot(batch, i, Datagram(i)), refusedAddress));
        }

        Assert.Equal(0, Flush(batch, _relay, metrics, out var sent));

        Assert.Equal(0, sent);
        Assert.Equal(4, drops.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public void FlushThenReceive_RelaysInPlace()
    {
        if (!OperatingSystem.IsLinux())
        {
            // recvmmsg(2) and sendmmsg(2) are used on Linux only; there is nothing to test elsewhere.
            return;
        }

        // What a drain does: receive a batch, then send each datagram on from the slot it arrived in.
        var batch = FreshBatch();
        using var destination = Bound();
        var destinationAddress = SocketAddressBytes(destination.LocalEndPoint!);
        var datagrams = Enumerable.Range(0, 5).Select(Datagram).ToList();
        foreach (var datagram in datagrams)
        {
            _peer.SendTo(datagram, _relay.LocalEndPoint!);
        }

        WaitReadable(_relay);
        var received = batch.Receive(_relay, 0);
        Assert.Equal(datagrams.Count, received);
        for (var i = 0; i < received; i++)
        {
            Assert.True(Queue(batch, batch.Slot(i)[..batch.Length(i)], destinationAddress));
        }

        Flush(batch, _relay, new SocksMetrics(_meterFactory), out var sent);

        Assert.Equal(datagrams.Count, sent);
        foreach (var datagram in datagrams)
        {
            Assert.Equal(datagram, ReceiveOne(destination).Payload);
        }
    }

    [SupportedOSPlatform("linux")]
    private UdpBatch FreshBatch()
    {
        var batch = new UdpBatch();
        _batches.Add(batch);
        return batch;
    }

    /// <summary>Flushes on <paramref name="socket"/>: the payload bytes that went out, and in <paramref name="sent"/> how many datagrams.</summary>
    [SupportedOSPlatform("linux")]
    private static long Flush(UdpBatch batch, Socket socket, SocksMetrics metrics, out long sent)
    {
        var tally = default(UdpTally);
        batch.Flush(socket, metrics, ref tally);
        sent = tally.Datagrams;
        return tally.Bytes;
    }

    private MetricCollector<long> DropCollector() => new(_meterFactory, MetricNames.MeterName, "kestrelsocks.udp.drops");

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>Datagram <paramref name="index"/>: a distinct length and content for each.</summary>
    private static byte[] Datagram(int index) =>
        Enumerable.Range(0, 10 + (index * 37)).Select(i => (byte)(index + i)).ToArray();

    private static byte[] SocketAddressBytes(EndPoint endPoint)
    {
        var socketAddress = endPoint.Serialize();
        return socketAddress.Buffer.Span[..socketAddress.Size].ToArray();
    }

    /// <summary>Copies <paramref name="payload"/> into slot <paramref name="index"/>: queued payloads must lie in the batch.</summary>
    [SupportedOSPlatform("linux")]
    private static Span<byte> InSlot(UdpBatch batch, int index, byte[] payload)
    {
        var slot = batch.Slot(index)[..payload.Length];
        payload.CopyTo(slot);
        return slot;
    }

    [SupportedOSPlatform("linux")]
    private static void AssertReceived(UdpBatch batch, int index, int offset, byte[] expected, int peerPort)
    {
        Assert.Equal(expected.Length, batch.Length(index));
        Assert.Equal(expected, batch.Slot(index).Slice(offset, expected.Length).ToArray());

        Span<byte> address = stackalloc byte[16];
        var length = SocketAddressCodec.Read(AddressFamily.InterNetwork, batch.SourceName(index), address, out var port);
        Assert.Equal(4, length);
        Assert.Equal([127, 0, 0, 1], address[..length].ToArray());
        Assert.Equal(peerPort, port);
    }

    private static (byte[] Payload, IPEndPoint From) ReceiveOne(Socket socket)
    {
        WaitReadable(socket);
        var buffer = new byte[64 * 1024];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        var length = socket.ReceiveFrom(buffer, ref from);
        return (buffer[..length], (IPEndPoint)from);
    }

    private static void WaitReadable(Socket socket) =>
        Assert.True(socket.Poll(_timeout, SelectMode.SelectRead), "No datagram arrived in time.");

    /// <summary>Queues a datagram that counts whole as payload.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static bool Queue(UdpBatch batch, ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> destination) =>
        batch.TryQueue(datagram, datagram.Length, destination);
}
