using System.IO.Pipelines;
using System.Net.Sockets;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Relay;

/// <summary>
/// Relays bytes between a client connection (pipes) and an upstream socket, both ways at once.
/// <list type="bullet">
/// <item>Back-pressure: a direction reads only as fast as the other side takes its bytes.</item>
/// <item>Half-close: end of stream on one side becomes FIN on the other; the other direction flows on.</item>
/// <item>Failure: an error or reset on either side resets both, so neither peer mistakes it for a clean end.</item>
/// <item>Idle: no byte in either direction for the idle timeout closes the tunnel.</item>
/// </list>
/// Bytes that arrived behind the request are already in the client pipe, so they go upstream first.
/// </summary>
internal sealed class TcpTunnel : IDisposable
{
    private const int InitialReceiveSize = 4096;
    private const int MaxReceiveSize = 64 * 1024;

    private readonly ConnectionContext _client;
    private readonly Socket _upstream;
    private readonly SocksMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _idleTimeout;
    private readonly CancellationTokenSource _cts = new();
    private long _lastActivity;
    private long _bytesUp;
    private long _bytesDown;
    private int _end = -1;
    private Exception? _error;
    private ITimer? _idleTimer;

    public TcpTunnel(ConnectionContext client, Socket upstream, TimeSpan idleTimeout, SocksMetrics metrics, TimeProvider timeProvider)
    {
        _client = client;
        _upstream = upstream;
        _idleTimeout = idleTimeout;
        _metrics = metrics;
        _timeProvider = timeProvider;
    }

    public long BytesUp => Interlocked.Read(ref _bytesUp);

    public long BytesDown => Interlocked.Read(ref _bytesDown);

    /// <summary>The failure that ended the tunnel, if one did.</summary>
    public Exception? Error => _error;

    public async Task<TunnelEnd> RunAsync()
    {
        _lastActivity = _timeProvider.GetTimestamp();
        using var idleTimer = _timeProvider.CreateTimer(static state => ((TcpTunnel)state!).OnIdleTimer(), this, _idleTimeout, Timeout.InfiniteTimeSpan);
        _idleTimer = idleTimer;
        try
        {
            var up = PumpUpstreamAsync();
            var down = PumpDownstreamAsync();
            await up;
            await down;
        }
        finally
        {
            // Claim the end before tearing down, so a late idle timer cannot abort a connection that finished cleanly.
            Interlocked.CompareExchange(ref _end, (int)TunnelEnd.Completed, -1);
            _idleTimer = null;
            _upstream.Dispose();
        }

        return (TunnelEnd)_end;
    }

    private async Task PumpUpstreamAsync()
    {
        var input = _client.Transport.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(_cts.Token);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    foreach (var segment in buffer)
                    {
                        await _upstream.SendAsync(segment, SocketFlags.None, _cts.Token);
                    }

                    Interlocked.Add(ref _bytesUp, buffer.Length);
                    _metrics.BytesRelayed(upstream: true, buffer.Length);
                    Touch();
                }

                input.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    // The client has finished sending: pass its FIN on and let the other direction run to its end.
                    _upstream.Shutdown(SocketShutdown.Send);
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
            Fail(e is SocketException ? TunnelEnd.UpstreamFailed : TunnelEnd.ClientFailed, e);
        }
    }

    private async Task PumpDownstreamAsync()
    {
        var output = _client.Transport.Output;
        var receiveSize = InitialReceiveSize;
        var filledLastBuffer = false;
        try
        {
            while (true)
            {
                if (!filledLastBuffer)
                {
                    // Wait for data before taking a buffer, so an idle tunnel holds none.
                    await SocketReadiness.WaitForDataAsync(_upstream, _cts.Token);
                }

                var memory = output.GetMemory(receiveSize);
                var received = await _upstream.ReceiveAsync(memory, SocketFlags.None, _cts.Token);
                if (received == 0)
                {
                    // The destination has finished sending: the transport sends what is buffered, then FIN.
                    await output.CompleteAsync();
                    return;
                }

                output.Advance(received);
                filledLastBuffer = received == memory.Length;
                if (filledLastBuffer && receiveSize < MaxReceiveSize)
                {
                    receiveSize *= 2;
                }

                Interlocked.Add(ref _bytesDown, received);
                _metrics.BytesRelayed(upstream: false, received);
                Touch();

                var flush = await output.FlushAsync(_cts.Token);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    throw new ConnectionAbortedException("The client connection stopped taking bytes.");
                }
            }
        }
        catch (Exception e)
        {
            Fail(e is SocketException ? TunnelEnd.UpstreamFailed : TunnelEnd.ClientFailed, e);
        }
    }

    public void Dispose() => _cts.Dispose();

    private void Touch() => Volatile.Write(ref _lastActivity, _timeProvider.GetTimestamp());

    private void OnIdleTimer()
    {
        var idleFor = _timeProvider.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (idleFor >= _idleTimeout)
        {
            Fail(TunnelEnd.IdleTimeout, null);
        }
        else
        {
            _idleTimer?.Change(_idleTimeout - idleFor, Timeout.InfiniteTimeSpan);
        }
    }

    private void Fail(TunnelEnd end, Exception? error)
    {
        // The first failure names the end; the failures it causes on the other side are its echoes.
        if (Interlocked.CompareExchange(ref _end, (int)end, -1) != -1)
        {
            return;
        }

        _error = error;
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        try
        {
            _upstream.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        _upstream.Dispose();
        _client.Abort(new ConnectionAbortedException($"Tunnel ended: {end}."));
    }
}
