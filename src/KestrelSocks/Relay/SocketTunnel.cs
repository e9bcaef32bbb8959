using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Relay;

/// <summary>
/// A tunnel between two sockets it owns outright: after the handshake the transport hands the client socket over,
/// so nothing else reads or writes it. Each direction waits for data with a one-byte peek, then moves what is there
/// either through a pooled 64 KiB buffer or, on Linux with a pipe pool, with splice(2) through a pooled kernel pipe,
/// never touching user memory. Buffers and pipes are held only while bytes flow, so an idle tunnel holds neither.
/// Socket waits take no cancellation token: a failure resets both sockets, which ends every wait on them. A direction
/// under a bandwidth limit takes tokens before each move and moves at most that many bytes, so a splice never runs
/// ahead of the bucket by more than what it was granted.
/// </summary>
internal sealed class SocketTunnel : Tunnel
{
    private const int ChunkSize = 64 * 1024;

    // Bytes a direction may move on completions that never went asynchronous before it yields its thread, so one
    // bulk tunnel cannot hold a thread while other tunnels wait. One chunk: a bulk direction goes back to the end of
    // the thread pool's queue after every 64 KiB, which keeps a small message behind eight bulk tunnels within a few
    // hundred microseconds (bench/README.md, tcp-fairness); bulk throughput did not drop in the same runs.
    private const int FairnessBudget = ChunkSize;

    private readonly Socket _client;
    private readonly ConnectionContext _connection;
    private readonly byte[]? _earlyData;
    private readonly int _earlyLength;
    private readonly bool _clientFinished;
    private readonly SplicePipePool? _pipes;

    /// <param name="earlyData">Bytes the transport read from the client before the hand-over (pooled; returned here).</param>
    /// <param name="clientFinished">The client had already sent FIN before the hand-over.</param>
    /// <param name="pipes">Splice through these pipes; null copies through pooled buffers.</param>
    public SocketTunnel(ConnectionContext connection, Socket client, Socket upstream, byte[]? earlyData, int earlyLength, bool clientFinished,
        SplicePipePool? pipes, TimeSpan idleTimeout, SocksMetrics metrics, TimeProvider timeProvider,
        TokenBucket? upstreamLimit, TokenBucket? downstreamLimit)
        : base(upstream, idleTimeout, metrics, timeProvider, upstreamLimit, downstreamLimit)
    {
        _connection = connection;
        _client = client;
        _earlyData = earlyData;
        _earlyLength = earlyLength;
        _clientFinished = clientFinished;
        _pipes = pipes;
    }

    protected override Task PumpUpstreamAsync() =>
        RelayAsync(new Direction(_client, Upstream, toUpstream: true, UpstreamLimit), _earlyData.AsMemory(0, _earlyLength), _clientFinished);

    protected override Task PumpDownstreamAsync() =>
        RelayAsync(new Direction(Upstream, _client, toUpstream: false, DownstreamLimit), ReadOnlyMemory<byte>.Empty, sourceFinished: false);

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

    private async Task RelayAsync(Direction direction, ReadOnlyMemory<byte> first, bool sourceFinished)
    {
        try
        {
            while (!first.IsEmpty)
            {
                var length = direction.Limit is { } firstLimit ? await TakeTokensAsync(firstLimit, first.Length) : first.Length;
                direction.Writing();
                await direction.Destination.SendAsync(first[..length], SocketFlags.None);
                Count(direction, length);
                first = first[length..];
            }

            var sinceYield = 0;
            var skipWait = false;
            var bulk = false;
            while (!sourceFinished)
            {
                direction.Reading();
                if (!skipWait)
                {
                    var ready = SocketReadiness.WaitForDataAsync(direction.Source);
                    if (!ready.IsCompleted)
                    {
                        sinceYield = 0;
                    }

                    await ready;
                }

                // With inline completions (the server's default) a wake-up runs right here on the socket engine's
                // thread, which is what makes a small message fast. A bulk direction leaves that thread before it moves
                // anything, so the engine stays free to wake the next small message (see SocketEngineThread).
                if (bulk && SocketEngineThread.IsCurrent)
                {
                    await Task.Yield();
                }

                var length = ChunkSize;
                if (direction.Limit is { } limit)
                {
                    length = await TakeTokensAsync(limit, ChunkSize);
                }

                int moved;
                if (_pipes is not null && OperatingSystem.IsLinux())
                {
                    if (_pipes.TryRent(out var pipe))
                    {
                        moved = await SpliceAsync(direction, _pipes, pipe, length);
                    }
                    else
                    {
                        // No descriptors for a pipe: this chunk goes through a buffer.
                        Metrics.DescriptorsRefused(DescriptorUse.SplicePipe);
                        moved = await CopyAsync(direction, length);
                    }
                }
                else
                {
                    moved = await CopyAsync(direction, length);
                }

                if (moved < length)
                {
                    // Fewer bytes were there than granted: the rest of the tokens go back for the user's other moves.
                    direction.Limit?.Return(length - Math.Max(moved, 0));
                }

                if (moved == 0)
                {
                    break;
                }

                // A full move means more is likely queued: go straight to the next one.
                skipWait = moved == length;
                if (moved < 0)
                {
                    continue;
                }

                bulk = moved >= SocketEngineThread.BulkBytes;
                Count(direction, moved);
                sinceYield += moved;
                if (sinceYield >= FairnessBudget)
                {
                    sinceYield = 0;
                    await Task.Yield();
                }
            }

            // The source has finished sending: pass its FIN on; the other direction runs to its own end.
            direction.Writing();
            direction.Destination.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e)
        {
            Fail(FailedSide(direction.FailingOnUpstream), e);
        }
    }

    /// <summary>Moves up to <paramref name="length"/> bytes through a pooled buffer: the count moved, 0 at end of stream.</summary>
    // Pooled builder: a move that waits for the destination would otherwise allocate its state machine every time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> CopyAsync(Direction direction, int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            var received = await direction.Source.ReceiveAsync(buffer.AsMemory(0, length), SocketFlags.None);
            if (received > 0)
            {
                direction.Writing();
                await direction.Destination.SendAsync(buffer.AsMemory(0, received), SocketFlags.None);
            }

            return received;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Moves up to <paramref name="length"/> bytes socket → pipe → socket in the kernel: the count moved, 0 at end of stream, -1 when nothing
    /// was ready after all. When the destination is full, the rest is copied out of the pipe and sent
    /// asynchronously, which waits for room; the pipe goes back to the pool empty either way.
    /// </summary>
    [SupportedOSPlatform("linux")]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> SpliceAsync(Direction direction, SplicePipePool pipes, (int Read, int Write) pipe, int length)
    {
        // Empty only once proven so: a pipe that may still hold bytes must be closed, never pooled, or another
        // tunnel would receive this one's data.
        var pipeEmpty = false;
        try
        {
            var (moved, pending) = SpliceChunk(direction, pipe, length);
            pipeEmpty = pending == 0;
            if (pending > 0)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(pending);
                try
                {
                    var drained = 0;
                    while (drained < pending)
                    {
                        var read = LinuxSplice.Read(pipe.Read, buffer.AsSpan(drained, pending - drained));
                        if (read <= 0)
                        {
                            throw new SocketException((int)SocketError.SocketError);
                        }

                        drained += read;
                    }

                    pipeEmpty = true;
                    await direction.Destination.SendAsync(buffer.AsMemory(0, pending), SocketFlags.None);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            return moved;
        }
        finally
        {
            pipes.Return(pipe, pipeEmpty);
        }
    }

    /// <summary>The synchronous part of a splice: (bytes taken from the source, bytes still in the pipe).</summary>
    [SupportedOSPlatform("linux")]
    private static (int Moved, int Pending) SpliceChunk(Direction direction, (int Read, int Write) pipe, int length)
    {
        var source = direction.Source.SafeHandle;
        var destination = direction.Destination.SafeHandle;
        var sourceAdded = false;
        var destinationAdded = false;
        try
        {
            // Hold the handles so a concurrent close cannot recycle the descriptors mid-call.
            source.DangerousAddRef(ref sourceAdded);
            destination.DangerousAddRef(ref destinationAdded);
            var moved = LinuxSplice.Move((int)source.DangerousGetHandle(), pipe.Write, length);
            if (moved <= 0)
            {
                return (moved, 0);
            }

            direction.Writing();
            var pending = moved;
            while (pending > 0)
            {
                var sent = LinuxSplice.Move(pipe.Read, (int)destination.DangerousGetHandle(), pending);
                if (sent < 0)
                {
                    break;
                }

                pending -= sent;
            }

            return (moved, pending);
        }
        finally
        {
            if (destinationAdded)
            {
                destination.DangerousRelease();
            }

            if (sourceAdded)
            {
                source.DangerousRelease();
            }
        }
    }

    private void Count(Direction direction, long bytes)
    {
        if (direction.ToUpstream)
        {
            CountUp(bytes);
        }
        else
        {
            CountDown(bytes);
        }
    }

    /// <summary>One direction of the tunnel, and which side a failure now would belong to.</summary>
    private sealed class Direction(Socket source, Socket destination, bool toUpstream, TokenBucket? limit)
    {
        public Socket Source { get; } = source;

        public Socket Destination { get; } = destination;

        public bool ToUpstream { get; } = toUpstream;

        /// <summary>The user's bucket for this direction; null when unlimited.</summary>
        public TokenBucket? Limit { get; } = limit;

        /// <summary>Reading blames the source; writing blames the destination.</summary>
        public bool FailingOnUpstream { get; private set; } = !toUpstream;

        public void Reading() => FailingOnUpstream = !ToUpstream;

        public void Writing() => FailingOnUpstream = ToUpstream;
    }
}
