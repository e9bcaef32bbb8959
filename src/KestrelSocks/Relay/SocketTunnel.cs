using System.Buffers;
using System.Net.Sockets;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Relay;

/// <summary>
/// A tunnel between two sockets it owns outright: after the handshake the transport hands the client socket over,
/// so nothing else reads or writes it. Each direction waits for data with a one-byte peek, then moves it through a
/// pooled 64 KiB buffer that is rented only while bytes flow, so an idle tunnel holds no buffer.
/// </summary>
internal sealed class SocketTunnel : Tunnel
{
    private const int BufferSize = 64 * 1024;

    // Bytes a direction may move on completions that never went asynchronous before it yields its thread, so one
    // bulk tunnel cannot hold a thread-pool thread while other tunnels wait.
    private const int FairnessBudget = 256 * 1024;

    private readonly Socket _client;
    private readonly ConnectionContext _connection;
    private readonly byte[]? _earlyData;
    private readonly int _earlyLength;
    private readonly bool _clientFinished;

    /// <param name="earlyData">Bytes the transport read from the client before the hand-over (pooled; returned here).</param>
    /// <param name="clientFinished">The client had already sent FIN before the hand-over.</param>
    public SocketTunnel(ConnectionContext connection, Socket client, Socket upstream, byte[]? earlyData, int earlyLength, bool clientFinished,
        TimeSpan idleTimeout, SocksMetrics metrics, TimeProvider timeProvider)
        : base(upstream, idleTimeout, metrics, timeProvider)
    {
        _connection = connection;
        _client = client;
        _earlyData = earlyData;
        _earlyLength = earlyLength;
        _clientFinished = clientFinished;
    }

    protected override Task PumpUpstreamAsync() =>
        CopyAsync(_client, Upstream, toUpstream: true, _earlyData.AsMemory(0, _earlyLength), _clientFinished);

    protected override Task PumpDownstreamAsync() =>
        CopyAsync(Upstream, _client, toUpstream: false, ReadOnlyMemory<byte>.Empty, sourceFinished: false);

    protected override void AbortClient()
    {
        Reset(_client);
        _connection.Abort(new ConnectionAbortedException("The tunnel failed."));
    }

    protected override void OnCompleted()
    {
        _client.Dispose();
        if (_earlyData is not null)
        {
            ArrayPool<byte>.Shared.Return(_earlyData);
        }
    }

    private async Task CopyAsync(Socket source, Socket destination, bool toUpstream, ReadOnlyMemory<byte> first, bool sourceFinished)
    {
        // Which side a failure belongs to: the source while reading, the destination while writing.
        var failedOnUpstream = !toUpstream;
        try
        {
            if (!first.IsEmpty)
            {
                failedOnUpstream = toUpstream;
                await destination.SendAsync(first, SocketFlags.None, Aborted);
                Count(toUpstream, first.Length);
            }

            var sinceYield = 0;
            var filledLastBuffer = false;
            while (!sourceFinished)
            {
                failedOnUpstream = !toUpstream;
                if (!filledLastBuffer)
                {
                    var ready = SocketReadiness.WaitForDataAsync(source, Aborted);
                    if (!ready.IsCompleted)
                    {
                        sinceYield = 0;
                    }

                    await ready;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                try
                {
                    var received = await source.ReceiveAsync(buffer, SocketFlags.None, Aborted);
                    if (received == 0)
                    {
                        break;
                    }

                    failedOnUpstream = toUpstream;
                    await destination.SendAsync(buffer.AsMemory(0, received), SocketFlags.None, Aborted);
                    Count(toUpstream, received);
                    filledLastBuffer = received == buffer.Length;
                    sinceYield += received;
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                if (sinceYield >= FairnessBudget)
                {
                    sinceYield = 0;
                    await Task.Yield();
                }
            }

            // The source has finished sending: pass its FIN on; the other direction runs to its own end.
            failedOnUpstream = toUpstream;
            destination.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e)
        {
            Fail(FailedSide(failedOnUpstream), e);
        }
    }

    private void Count(bool toUpstream, long bytes)
    {
        if (toUpstream)
        {
            CountUp(bytes);
        }
        else
        {
            CountDown(bytes);
        }
    }
}
