using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Measurement;
using KestrelSocks.LoadTest.Payload;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// One loop of tcp-rr (a whole session per exchange), or tcp-latency and tcp-fairness (one session, many exchanges).
/// Each exchange sends a slice of the pattern and checks the echo byte for byte; latencies inside the window are
/// recorded.
/// </summary>
internal sealed class ExchangeWorker
{
    private readonly SocksClient _client;
    private readonly IPEndPoint _echo;
    private readonly byte[] _request;
    private readonly PayloadPattern _pattern;
    private readonly int _messageSize;
    private readonly MeasurementWindow _window;
    private readonly long _seed;

    public ExchangeWorker(SocksClient client, IPEndPoint echo, PayloadPattern pattern, int messageSize, MeasurementWindow window, long seed)
    {
        _client = client;
        _echo = echo;
        _request = SocksClient.EncodeRequest(KestrelSocks.Protocol.Socks5Command.Connect, echo);
        _pattern = pattern;
        _messageSize = messageSize;
        _window = window;
        _seed = seed;
    }

    public LatencyRecorder Latencies { get; } = new();

    /// <summary>Exchanges whose echo matched, warm-up included.</summary>
    public long Verified { get; private set; }

    /// <summary>Exchanges (tcp-rr: sessions) that started and ended inside the window.</summary>
    public long CompletedInWindow { get; private set; }

    public long Errors { get; private set; }

    public string? FirstError { get; private set; }

    /// <summary>Whole sessions back to back: connect, handshake, one exchange, close.</summary>
    public async Task RunSessionsAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_messageSize);
        long position = _seed * 1_000_003;
        try
        {
            while (!_window.IsOver(Stopwatch.GetTimestamp()) && !cancellationToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                Socket? socket = null;
                try
                {
                    socket = await _client.ConnectAsync(_echo, _request, cancellationToken);
                    await ExchangeAsync(socket, position, buffer, cancellationToken);
                    socket.Dispose();
                    socket = null;
                    Record(started, Stopwatch.GetTimestamp());
                }
                catch (Exception e) when (e is SocketException or SocksException or IOException or InvalidDataException)
                {
                    Fail(e);
                    await Task.Delay(1, CancellationToken.None);
                }
                finally
                {
                    SocketIo.CloseQuietly(socket);
                }

                position += _messageSize;
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>One session, ping-pong until the window ends.</summary>
    public async Task RunPingPongAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_messageSize);
        Socket? socket = null;
        long position = _seed * 1_000_003;
        try
        {
            socket = await _client.ConnectAsync(_echo, _request, cancellationToken);
            while (!_window.IsOver(Stopwatch.GetTimestamp()) && !cancellationToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                await ExchangeAsync(socket, position, buffer, cancellationToken);
                Record(started, Stopwatch.GetTimestamp());

                position += _messageSize;
            }
        }
        catch (Exception e) when (e is SocketException or SocksException or IOException or InvalidDataException)
        {
            Fail(e);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            SocketIo.CloseQuietly(socket);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// <see cref="RunPingPongAsync"/> with blocking calls, for a dedicated thread: connect, handshake and every
    /// exchange wait in the kernel, not in the thread pool's queue. Returns when the window ends or on cancellation,
    /// which closes the socket to end a blocked call.
    /// </summary>
    public void RunPingPongBlocking(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_messageSize);
        Socket? socket = null;
        long position = _seed * 1_000_003;
        try
        {
            socket = _client.Connect(_echo, _request, cancellationToken);
            using var registration = SocketIo.CloseOnCancel(socket, cancellationToken);
            while (!_window.IsOver(Stopwatch.GetTimestamp()) && !cancellationToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                Exchange(socket, position, buffer);
                Record(started, Stopwatch.GetTimestamp());

                position += _messageSize;
            }
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is SocketException or ObjectDisposedException or IOException)
        {
            // The socket was closed by the cancellation: the async variant's OperationCanceledException.
        }
        catch (Exception e) when (e is SocketException or SocksException or IOException or InvalidDataException)
        {
            Fail(e);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            SocketIo.CloseQuietly(socket);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Counts an exchange that started and ended inside the window.</summary>
    private void Record(long started, long finished)
    {
        if (_window.Contains(started, finished))
        {
            Latencies.Record(finished - started);
            CompletedInWindow++;
        }
    }

    private async ValueTask ExchangeAsync(Socket socket, long position, byte[] buffer, CancellationToken cancellationToken)
    {
        await SocketIo.SendAllAsync(socket, _pattern.SliceMemory(position, _messageSize), cancellationToken);
        await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(0, _messageSize), cancellationToken);
        if (!_pattern.Matches(position, buffer.AsSpan(0, _messageSize)))
        {
            throw new InvalidDataException("The echo differs from what was sent.");
        }

        Verified++;
    }

    private void Exchange(Socket socket, long position, byte[] buffer)
    {
        SocketIo.SendAll(socket, _pattern.Slice(position, _messageSize));
        SocketIo.ReceiveExact(socket, buffer.AsSpan(0, _messageSize));
        if (!_pattern.Matches(position, buffer.AsSpan(0, _messageSize)))
        {
            throw new InvalidDataException("The echo differs from what was sent.");
        }

        Verified++;
    }

    private void Fail(Exception e)
    {
        Errors++;
        FirstError ??= $"{e.GetType().Name}: {e.Message}";
    }
}
