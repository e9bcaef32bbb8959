using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace KestrelSocks.Transport;

/// <summary>
/// One accepted TCP connection, exposed to Kestrel as a pair of pipes.
/// <list type="bullet">
/// <item>Completing <see cref="ConnectionContext.Transport"/>'s output sends what is buffered, then FIN (<c>shutdown(SHUT_WR)</c>); receiving goes on.</item>
/// <item>The peer's FIN completes the input; sending goes on.</item>
/// <item><see cref="Abort(ConnectionAbortedException)"/> resets the connection (RST), so a failure upstream is a failure for the client too.</item>
/// <item><see cref="DisposeAsync"/> lets buffered output drain and waits briefly for the peer's FIN, so a client that sent
/// more than we read still receives our last reply instead of an RST.</item>
/// </list>
/// </summary>
internal sealed class SocketConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature,
    IConnectionEndPointFeature, IConnectionSocketFeature, ISocketDetachFeature
{
    // How long a closing connection waits for buffered output to reach the peer, and then for the peer's FIN.
    private static readonly TimeSpan _drainTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan _lingerTimeout = TimeSpan.FromSeconds(1);
    private const int InitialReceiveSize = 2048;

    private static long _lastId;

    private readonly Socket _socket;

    // Released at the hand-over: a long tunnel should not keep the handshake's pipes alive.
    private Pipe? _input;
    private Pipe? _output;
    private readonly int _maxReceiveSize;
    private readonly CancellationTokenSource _closedTokenSource = new();
    private readonly CancellationTokenSource _detachTokenSource = new();
    private readonly FeatureCollection _features = new();
    private IDictionary<object, object?>? _items;
    private Task _receiveTask = Task.CompletedTask;
    private Task _sendTask = Task.CompletedTask;
    private volatile bool _aborted;
    private volatile bool _detaching;
    private bool _detached;
    private bool _receivedFin;
    private int _closedSignaled;
    private int _disposed;

    /// <param name="inputOptions">Shared by every connection of a listener (see <see cref="CreateInputOptions"/>).</param>
    /// <param name="outputOptions">Shared likewise (see <see cref="CreateOutputOptions"/>).</param>
    public SocketConnection(Socket socket, TransportOptions options, PipeOptions inputOptions, PipeOptions outputOptions)
    {
        _socket = socket;

        // Synchronous calls must never wait: the send loop tries a plain send first (see SendAsync).
        _socket.Blocking = false;
        _maxReceiveSize = options.ReceiveBufferSize;
        ConnectionId = $"ks-{Interlocked.Increment(ref _lastId):x}";
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;

        _input = new Pipe(inputOptions);
        _output = new Pipe(outputOptions);
        Transport = new DuplexPipe(_input.Reader, _output.Writer);

        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _features.Set<IConnectionSocketFeature>(this);
        _features.Set<ISocketDetachFeature>(this);
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed
    {
        get => _closedTokenSource.Token;
        set => throw new NotSupportedException("The transport owns the ConnectionClosed token.");
    }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public Socket Socket => _socket;

    public static PipeOptions CreateInputOptions(TransportOptions options) => new(
        pauseWriterThreshold: options.MaxBufferedBytes, resumeWriterThreshold: options.MaxBufferedBytes / 2,
        minimumSegmentSize: InitialReceiveSize, useSynchronizationContext: false);

    public static PipeOptions CreateOutputOptions(TransportOptions options) => new(
        pauseWriterThreshold: options.MaxBufferedBytes, resumeWriterThreshold: options.MaxBufferedBytes / 2,
        minimumSegmentSize: 4096, useSynchronizationContext: false);

    public void Start()
    {
        _receiveTask = ReceiveLoopAsync();
        _sendTask = SendLoopAsync();
        _ = SignalClosedAsync();
    }

    public async Task<DetachedSocket> DetachAsync()
    {
        _detaching = true;

        // The receive loop waits with a peek, which consumes nothing, so cancelling it loses no byte; a flush stuck
        // on back-pressure is cancelled too, its bytes already in the pipe. The send loop sends what the application
        // flushed, then stops without FIN.
        var input = _input!;
        var output = _output!;
        _detachTokenSource.Cancel();
        input.Writer.CancelPendingFlush();
        output.Reader.CancelPendingRead();
        await _receiveTask;
        await _sendTask;
        if (_aborted)
        {
            throw new ConnectionAbortedException("The connection was aborted before it could be handed over.");
        }

        // Bytes the application left unconsumed (those right behind the request) travel with the socket.
        byte[]? early = null;
        var earlyLength = 0;
        if (input.Reader.TryRead(out var result))
        {
            if (!result.Buffer.IsEmpty)
            {
                earlyLength = (int)result.Buffer.Length;
                early = ArrayPool<byte>.Shared.Rent(earlyLength);
                result.Buffer.CopyTo(early);
            }

            input.Reader.AdvanceTo(result.Buffer.End);
        }

        // Both loops have completed their ends; completing ours returns every segment. The completed loop tasks go
        // too: they would keep their state machines alive for as long as the tunnel lasts.
        input.Reader.Complete();
        output.Writer.Complete();
        _input = null;
        _output = null;
        Transport = DetachedTransport.Instance;
        _receiveTask = Task.CompletedTask;
        _sendTask = Task.CompletedTask;
        _detached = true;
        return new DetachedSocket(_socket, _receivedFin, early, earlyLength);
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (_aborted)
        {
            return;
        }

        _aborted = true;
        try
        {
            // Linger 0: close with RST, so the peer learns this was a failure and not a clean end of stream.
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
        Volatile.Read(ref _output)?.Reader.CancelPendingRead();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_detached)
        {
            // The socket belongs to whoever took it; the loops and the pipes ended at the hand-over.
            SignalClosed();
            return;
        }

        _input!.Reader.Complete();
        _output!.Writer.Complete();

        if (!await WaitAsync(_sendTask, _drainTimeout))
        {
            Abort(new ConnectionAbortedException("The peer did not take the buffered output in time."));
        }

        // The send loop has sent FIN. Wait a moment for the peer's FIN: closing with unread bytes would send RST,
        // and an RST can destroy a reply the peer has not read yet.
        await WaitAsync(_receiveTask, _lingerTimeout);
        _socket.Dispose();
        await _receiveTask;
        await _sendTask;
        SignalClosed();

        // _closedTokenSource is not disposed: SignalClosedAsync may still be queueing its Cancel, and a
        // token source without timers or links holds nothing that needs releasing.
        await base.DisposeAsync();
    }

    private async Task ReceiveLoopAsync()
    {
        var writer = _input!.Writer;
        Exception? error = null;
        var receiveSize = InitialReceiveSize;
        var filledLastBuffer = false;
        try
        {
            while (true)
            {
                if (!filledLastBuffer)
                {
                    // An idle connection holds no buffer: wait for data first, then rent.
                    await SocketReadiness.WaitForDataAsync(_socket, _detachTokenSource.Token);
                }

                if (_detaching)
                {
                    break;
                }

                var memory = writer.GetMemory(receiveSize);
                var received = await _socket.ReceiveAsync(memory, SocketFlags.None, _detachTokenSource.Token);
                if (received == 0)
                {
                    _receivedFin = true;
                    break;
                }

                writer.Advance(received);

                // A full buffer means more is likely queued: skip the readiness wait and grow the next read.
                filledLastBuffer = received == memory.Length;
                if (filledLastBuffer && receiveSize < _maxReceiveSize)
                {
                    receiveSize = Math.Min(receiveSize * 2, _maxReceiveSize);
                }

                FlushResult result;
                try
                {
                    result = await writer.FlushAsync();
                }
                catch (Exception) when (!_aborted)
                {
                    // The application completed its input with an error: it wants no more bytes.
                    result = new FlushResult(isCanceled: false, isCompleted: true);
                }

                if (_detaching)
                {
                    break;
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    await DiscardUntilEndAsync();
                    break;
                }

                // Bulk input (a Pipe-mode tunnel) is read on the thread pool, not on a socket engine thread.
                if (received >= SocketEngineThread.BulkBytes && SocketEngineThread.IsCurrent)
                {
                    await Task.Yield();
                }
            }
        }
        catch (OperationCanceledException) when (_detaching)
        {
            // Handed over: what was received stays in the pipe for the new owner.
        }
        catch (Exception e)
        {
            error = TranslateError(e);
        }
        finally
        {
            await writer.CompleteAsync(error);
        }
    }

    private async Task DiscardUntilEndAsync()
    {
        // Nobody reads any more, but reading on until FIN keeps the close graceful. DisposeAsync bounds how long.
        var scratch = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (await _socket.ReceiveAsync(scratch, SocketFlags.None) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _output!.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                if (result.IsCanceled && !_detaching)
                {
                    break;
                }

                var buffer = result.Buffer;
                var length = buffer.Length;
                try
                {
                    if (buffer.IsSingleSegment)
                    {
                        await SendAsync(buffer.First);
                    }
                    else
                    {
                        foreach (var segment in buffer)
                        {
                            await SendAsync(segment);
                        }
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }

                // A send that had to wait resumes on a socket engine thread: bulk output goes on from the thread pool.
                if (length >= SocketEngineThread.BulkBytes && SocketEngineThread.IsCurrent)
                {
                    await Task.Yield();
                }
            }

            if (!_aborted && !_detaching)
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception e)
        {
            error = TranslateError(e);
        }
        finally
        {
            await reader.CompleteAsync(error);
        }
    }

    /// <summary>
    /// Sends without waiting when the socket takes it all, as it does the few bytes of a handshake reply. Only what it
    /// cannot take goes through an asynchronous send, whose event args the socket then keeps for the rest of its life:
    /// a handed-over socket would carry them through a tunnel that never sends through them.
    /// </summary>
    private ValueTask SendAsync(ReadOnlyMemory<byte> segment)
    {
        var sent = _socket.Send(segment.Span, SocketFlags.None, out var error);
        if (error == SocketError.Success && sent == segment.Length)
        {
            return ValueTask.CompletedTask;
        }

        if (error is not (SocketError.Success or SocketError.WouldBlock))
        {
            throw new SocketException((int)error);
        }

        return SendRestAsync(segment[sent..]);
    }

    private async ValueTask SendRestAsync(ReadOnlyMemory<byte> rest) => await _socket.SendAsync(rest, SocketFlags.None);

    private async Task SignalClosedAsync()
    {
        await _receiveTask;
        await _sendTask;

        // A handed-over socket lives on; DisposeAsync signals when the connection really ends.
        if (!_detaching)
        {
            SignalClosed();
        }
    }

    private void SignalClosed()
    {
        if (Interlocked.Exchange(ref _closedSignaled, 1) == 0)
        {
            // Off the I/O thread: callbacks registered on ConnectionClosed run arbitrary application code.
            ThreadPool.UnsafeQueueUserWorkItem(static source => source.Cancel(), _closedTokenSource, preferLocal: false);
        }
    }

    private Exception TranslateError(Exception e)
    {
        if (_aborted || e is ObjectDisposedException || e is SocketException { SocketErrorCode: SocketError.OperationAborted })
        {
            return new ConnectionAbortedException("The connection was aborted.", e);
        }

        if (e is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown })
        {
            return new ConnectionResetException(e.Message, e);
        }

        return e;
    }

    private static async ValueTask<bool> WaitAsync(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            return false;
        }

        return true;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
