using System.Buffers;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Payload;
using KestrelSocks.LoadTest.Targets;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>The generator's end of one bulk stream: it sends the pattern (upload) or reads and checks it (download).</summary>
internal sealed class BulkClientStream : IDisposable
{
    private readonly Socket _socket;
    private readonly PayloadPattern _pattern;
    private readonly int _chunkSize;
    private long _sent;
    private long _received;
    private volatile bool _stopSending;

    public BulkClientStream(Socket socket, BulkStream stream, PayloadPattern pattern, int chunkSize)
    {
        _socket = socket;
        Stream = stream;
        _pattern = pattern;
        _chunkSize = chunkSize;
    }

    public BulkStream Stream { get; }

    public long Sent => Volatile.Read(ref _sent);

    public long Received => Volatile.Read(ref _received);

    /// <summary>Bytes the receiving end has counted so far: the target for uploads, this client for downloads.</summary>
    public long Delivered => Stream.Direction == BulkDirection.Upload ? Stream.TargetReceived : Received;

    /// <summary>The first fault this client saw, or null.</summary>
    public string? Error { get; private set; }

    public void StopSending() => _stopSending = true;

    public Task RunAsync(CancellationToken cancellationToken) =>
        Stream.Direction == BulkDirection.Upload ? UploadAsync(cancellationToken) : DownloadAsync(cancellationToken);

    public void Dispose() => SocketIo.CloseQuietly(_socket);

    private async Task UploadAsync(CancellationToken cancellationToken)
    {
        var position = PayloadPattern.StartOf(Stream.Id);
        try
        {
            while (!_stopSending)
            {
                var sent = await _socket.SendAsync(_pattern.SliceMemory(position, _chunkSize), SocketFlags.None, cancellationToken);
                position += sent;
                Volatile.Write(ref _sent, _sent + sent);
            }

            // FIN, then wait for the target's FIN: it comes once every byte was read and checked.
            _socket.Shutdown(SocketShutdown.Send);
            var buffer = ArrayPool<byte>.Shared.Rent(256);
            try
            {
                while (await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken) > 0)
                {
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Error ??= $"client: {e.GetType().Name}: {e.Message}";
        }
    }

    private async Task DownloadAsync(CancellationToken cancellationToken)
    {
        var position = PayloadPattern.StartOf(Stream.Id);
        var buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer.AsMemory(0, _chunkSize), SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    // The target stopped and sent FIN: answer with ours, so it can close.
                    _socket.Shutdown(SocketShutdown.Send);
                    break;
                }

                if (Error is null && !_pattern.Matches(position, buffer.AsSpan(0, read)))
                {
                    Error = $"client: download bytes differ from the pattern within [{position - PayloadPattern.StartOf(Stream.Id)}, +{read})";
                }

                position += read;
                Volatile.Write(ref _received, _received + read);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Error ??= $"client: {e.GetType().Name}: {e.Message}";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
