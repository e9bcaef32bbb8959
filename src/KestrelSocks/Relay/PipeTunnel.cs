using System.Net.Sockets;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Relay;

/// <summary>
/// A tunnel between a client connection's pipes and an upstream socket: the mode for connections that have no
/// socket of their own to hand over (in-memory transports, wrapped connections). Bytes that arrived behind the
/// request are already in the client pipe, so they go upstream first.
/// </summary>
internal sealed class PipeTunnel : Tunnel
{
    private const int InitialReceiveSize = 4096;
    private const int MaxReceiveSize = 64 * 1024;

    // Under a bandwidth limit, the most sent upstream per move: one read can hold all the client pipe has buffered.
    private const int MaxLimitedSend = 64 * 1024;

    private readonly ConnectionContext _client;

    // Pipe waits do not end when a socket is reset, so this tunnel cancels them itself.
    private readonly CancellationTokenSource _aborted = new();

    public PipeTunnel(ConnectionContext client, Socket upstream, TimeSpan idleTimeout, SocksMetrics metrics, TimeProvider timeProvider,
        TokenBucket? upstreamLimit, TokenBucket? downstreamLimit)
        : base(upstream, idleTimeout, metrics, timeProvider, upstreamLimit, downstreamLimit)
    {
        _client = client;
    }

    private CancellationToken Aborted => _aborted.Token;

    protected override void OnFailing()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aborted.Dispose();
        }

        base.Dispose(disposing);
    }

    protected override async Task PumpUpstreamAsync()
    {
        var input = _client.Transport.Input;
        var upstreamSide = false;
        try
        {
            while (true)
            {
                upstreamSide = false;
                var result = await input.ReadAsync(Aborted);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    if (UpstreamLimit is { } limit)
                    {
                        // What is not sent now stays in the pipe, and the next read returns it at once.
                        buffer = buffer.Slice(0, await TakeTokensAsync(limit, (int)Math.Min(buffer.Length, MaxLimitedSend)));
                    }

                    upstreamSide = true;
                    foreach (var segment in buffer)
                    {
                        await Upstream.SendAsync(segment, SocketFlags.None, Aborted);
                    }

                    CountUp(buffer.Length);
                }

                input.AdvanceTo(buffer.End);
                if (result.IsCompleted && buffer.End.Equals(result.Buffer.End))
                {
                    // The client has finished sending: pass its FIN on and let the other direction run to its end.
                    Upstream.Shutdown(SocketShutdown.Send);
                    return;
                }

                if (result.IsCanceled)
                {
                    throw new OperationCanceledException();
                }
            }
        }
        catch (Exception e)
        {
            Fail(FailedSide(upstreamSide), e);
        }
    }

    protected override async Task PumpDownstreamAsync()
    {
        var output = _client.Transport.Output;
        var receiveSize = InitialReceiveSize;
        var filledLastBuffer = false;
        var upstreamSide = true;
        try
        {
            while (true)
            {
                upstreamSide = true;
                if (!filledLastBuffer)
                {
                    // Wait for data before taking a buffer, so an idle tunnel holds none.
                    await SocketReadiness.WaitForDataAsync(Upstream, Aborted);
                }

                var memory = output.GetMemory(receiveSize);
                var length = memory.Length;
                if (DownstreamLimit is { } limit)
                {
                    length = await TakeTokensAsync(limit, length);
                }

                var received = await Upstream.ReceiveAsync(memory[..length], SocketFlags.None, Aborted);
                upstreamSide = false;
                if (received < length)
                {
                    DownstreamLimit?.Return(length - received);
                }

                if (received == 0)
                {
                    // The destination has finished sending: the transport sends what is buffered, then FIN.
                    await output.CompleteAsync();
                    return;
                }

                output.Advance(received);
                filledLastBuffer = received == length;
                if (received == memory.Length && receiveSize < MaxReceiveSize)
                {
                    receiveSize *= 2;
                }

                CountDown(received);
                var flush = await output.FlushAsync(Aborted);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    throw new ConnectionAbortedException("The client connection stopped taking bytes.");
                }
            }
        }
        catch (Exception e)
        {
            Fail(FailedSide(upstreamSide), e);
        }
    }

    protected override void AbortClient() => _client.Abort(new ConnectionAbortedException("The tunnel failed."));
}
