using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using KestrelSocks.Transport;

namespace KestrelSocks.Tests.Transport;

/// <summary>
/// The hand-over of a connection's socket after the handshake, over real loopback sockets: what the application
/// left unread travels with the socket, in order and exactly once; the transport lets go of its pipes; and the socket
/// then carries bytes both ways with no other reader on it.
/// </summary>
public sealed class SocketConnectionTests
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(10);
    private static readonly TransportOptions _options = new();

    // (bytes sent, bytes the application consumes): within one pipe segment, and spread over several (the transport
    // reads 2 KiB first and grows its reads).
    public static TheoryData<int, int> Bursts => new()
    {
        { 32, 0 }, { 32, 1 }, { 32, 7 }, { 32, 31 }, { 32, 32 },
        { 100_000, 10 }, { 100_000, 2_049 }, { 100_000, 99_999 },
    };

    [Theory]
    [MemberData(nameof(Bursts))]
    public async Task Detach_HandsOverTheUnconsumedBytes_InOrder(int length, int consumed)
    {
        var (connection, peer) = await ConnectAsync();
        await using var _ = connection;
        using var __ = peer;
        var sent = Enumerable.Range(0, length).Select(i => (byte)((i * 7) + 1)).ToArray();
        await peer.SendAsync(sent);

        // The application reads the whole burst but consumes only part of it, as the handshake does with the
        // request and the bytes right behind it.
        var input = connection.Transport.Input;
        var result = await ReadAtLeastAsync(input, sent.Length);
        input.AdvanceTo(result.Buffer.GetPosition(consumed), result.Buffer.GetPosition(consumed));

        var detached = await connection.DetachAsync().WaitAsync(_timeout);
        try
        {
            Assert.False(detached.InputEnded);
            Assert.Equal(sent.Length - consumed, detached.EarlyLength);
            Assert.Equal(sent[consumed..], detached.EarlyData.AsSpan(0, detached.EarlyLength).ToArray());
            Assert.True(consumed < sent.Length || detached.EarlyData is null);
        }
        finally
        {
            ReturnEarly(detached);
            detached.Socket.Dispose();
        }
    }

    [Fact]
    public async Task Detach_ReleasesThePipes()
    {
        var (connection, peer) = await ConnectAsync();
        await using var _ = connection;
        using var __ = peer;
        var handshakePipes = connection.Transport;

        var detached = await connection.DetachAsync().WaitAsync(_timeout);
        using var socket = detached.Socket;

        Assert.NotSame(handshakePipes, connection.Transport);
        Assert.Same(DetachedTransport.Instance, connection.Transport);
        Assert.True(connection.Transport.Input.TryRead(out var result));
        Assert.True(result.IsCompleted);
        Assert.True(result.Buffer.IsEmpty);
        Assert.True((await connection.Transport.Input.ReadAsync()).IsCompleted);
        Assert.Throws<InvalidOperationException>(() => connection.Transport.Output.GetSpan(1));
        Assert.True((await connection.Transport.Output.FlushAsync()).IsCompleted);
    }

    [Fact]
    public async Task Detach_AfterOutputFlushed_SendsItFirst_ThenTheSocketIsTheCallersAlone()
    {
        var (connection, peer) = await ConnectAsync();
        await using var _ = connection;
        using var __ = peer;
        await connection.Transport.Output.WriteAsync(new byte[] { 5, 0, 0, 1 });

        var detached = await connection.DetachAsync().WaitAsync(_timeout);
        using var socket = detached.Socket;

        // The reply flushed before the hand-over arrives first, with no FIN behind it.
        var buffer = new byte[64];
        Assert.Equal(4, await ReceiveExactAsync(peer, buffer.AsMemory(0, 4)));
        Assert.Equal(new byte[] { 5, 0, 0, 1 }, buffer[..4]);

        // Both directions now go straight through the socket: no byte is taken by a transport loop.
        var up = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        await peer.SendAsync(up);
        var received = new byte[up.Length];
        Assert.Equal(up.Length, await ReceiveExactAsync(socket, received));
        Assert.Equal(up, received);

        await socket.SendAsync(up);
        Assert.Equal(up.Length, await ReceiveExactAsync(peer, received));
        Assert.Equal(up, received);
    }

    [Fact]
    public async Task Output_MoreThanTheSocketTakes_ArrivesWholeAndInOrder()
    {
        var (connection, peer) = await ConnectAsync();
        await using var _ = connection;
        using var __ = peer;
        var payload = new byte[16 * 1024 * 1024];
        new Random(42).NextBytes(payload);

        // The peer reads nothing yet, so the socket's buffers fill: sends that would block must wait, not fail or
        // drop bytes.
        var written = connection.Transport.Output.WriteAsync(payload).AsTask();
        var received = new byte[payload.Length];
        Assert.Equal(payload.Length, await ReceiveExactAsync(peer, received));
        await written.WaitAsync(_timeout);

        Assert.True(payload.AsSpan().SequenceEqual(received));
    }

    [Fact]
    public async Task Detach_AfterThePeersFin_SaysTheInputEnded()
    {
        var (connection, peer) = await ConnectAsync();
        await using var _ = connection;
        using var __ = peer;
        await peer.SendAsync(new byte[] { 1, 2, 3 });
        peer.Shutdown(SocketShutdown.Send);

        // Wait until the transport has seen both the bytes and the FIN.
        var input = connection.Transport.Input;
        while (true)
        {
            var read = await input.ReadAsync().AsTask().WaitAsync(_timeout);
            input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        var detached = await connection.DetachAsync().WaitAsync(_timeout);
        try
        {
            Assert.True(detached.InputEnded);
            Assert.Equal(new byte[] { 1, 2, 3 }, detached.EarlyData.AsSpan(0, detached.EarlyLength).ToArray());
        }
        finally
        {
            ReturnEarly(detached);
            detached.Socket.Dispose();
        }
    }

    [Fact]
    public async Task Abort_AfterDetach_DoesNotTouchTheReleasedPipes()
    {
        var (connection, peer) = await ConnectAsync();
        await using var _ = connection;
        using var __ = peer;
        var detached = await connection.DetachAsync().WaitAsync(_timeout);

        connection.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("test"));

        // Abort resets the socket, which the tunnel still shares: the peer sees the reset.
        var buffer = new byte[1];
        await Assert.ThrowsAsync<SocketException>(async () => await peer.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(_timeout));
        detached.Socket.Dispose();
    }

    private static async Task<(SocketConnection Connection, Socket Peer)> ConnectAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await listener.AcceptAsync();
        var connection = new SocketConnection(accepted, _options,
            SocketConnection.CreateInputOptions(_options), SocketConnection.CreateOutputOptions(_options));
        connection.Start();
        return (connection, peer);
    }

    private static async Task<ReadResult> ReadAtLeastAsync(PipeReader input, int length)
    {
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(_timeout);
            if (result.Buffer.Length >= length)
            {
                return result;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static async Task<int> ReceiveExactAsync(Socket socket, Memory<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var received = await socket.ReceiveAsync(buffer[total..]).AsTask().WaitAsync(_timeout);
            if (received == 0)
            {
                break;
            }

            total += received;
        }

        return total;
    }

    private static void ReturnEarly(DetachedSocket detached)
    {
        if (detached.EarlyData is not null)
        {
            ArrayPool<byte>.Shared.Return(detached.EarlyData);
        }
    }
}
