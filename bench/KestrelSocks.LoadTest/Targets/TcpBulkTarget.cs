using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Payload;

namespace KestrelSocks.LoadTest.Targets;

/// <summary>
/// A loopback sink and source for bulk streams. A connection starts with a 16-byte header: the direction and the
/// stream id of a <see cref="BulkStream"/> the client registered. Upload: the target reads to EOF and checks every
/// byte against the pattern. Download: the target sends the pattern until the stream is told to stop, then sends
/// FIN and waits for the client to close.
/// </summary>
internal sealed class TcpBulkTarget : TcpTarget
{
    public const int HeaderLength = 16;

    private readonly PayloadPattern _pattern;
    private readonly int _chunkSize;
    private readonly ConcurrentDictionary<long, BulkStream> _streams = new();

    private TcpBulkTarget(Socket listener, PayloadPattern pattern, int chunkSize)
        : base(listener)
    {
        _pattern = pattern;
        _chunkSize = chunkSize;
        StartAccepting();
    }

    public static TcpBulkTarget Start(IPAddress address, PayloadPattern pattern, int chunkSize) =>
        new(Listen(address, 0, backlog: 512), pattern, chunkSize);

    /// <summary>Writes the header a client sends first.</summary>
    public static void WriteHeader(Span<byte> destination, BulkDirection direction, long streamId)
    {
        destination[..HeaderLength].Clear();
        destination[0] = (byte)direction;
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], streamId);
    }

    public void Register(BulkStream stream) => _streams[stream.Id] = stream;

    public void Unregister(BulkStream stream) => _streams.TryRemove(stream.Id, out _);

    protected override async Task ServeAsync(Socket connection, CancellationToken token)
    {
        BulkStream? stream = null;
        var buffer = ArrayPool<byte>.Shared.Rent(_chunkSize);
        try
        {
            await SocketIo.ReceiveExactAsync(connection, buffer.AsMemory(0, HeaderLength), token);
            var id = BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(8));
            if (!_streams.TryGetValue(id, out stream) || (byte)stream.Direction != buffer[0])
            {
                return;
            }

            if (stream.Direction == BulkDirection.Upload)
            {
                await SinkAsync(connection, stream, buffer, token);
            }
            else
            {
                await SourceAsync(connection, stream, buffer, token);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or EndOfStreamException)
        {
            stream?.Fail($"target: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            connection.Dispose();
            stream?.Complete();
        }
    }

    private async Task SinkAsync(Socket connection, BulkStream stream, byte[] buffer, CancellationToken token)
    {
        var position = PayloadPattern.StartOf(stream.Id);
        var length = Math.Min(buffer.Length, _chunkSize);
        while (true)
        {
            var read = await connection.ReceiveAsync(buffer.AsMemory(0, length), SocketFlags.None, token);
            if (read == 0)
            {
                break;
            }

            if (!_pattern.Matches(position, buffer.AsSpan(0, read)))
            {
                stream.Fail($"target: upload bytes differ from the pattern within [{position - PayloadPattern.StartOf(stream.Id)}, +{read})");
            }

            position += read;
            stream.AddReceived(read);
        }

        connection.Shutdown(SocketShutdown.Send);
    }

    private async Task SourceAsync(Socket connection, BulkStream stream, byte[] buffer, CancellationToken token)
    {
        var position = PayloadPattern.StartOf(stream.Id);
        while (!stream.StopRequested)
        {
            var sent = await connection.SendAsync(_pattern.SliceMemory(position, _chunkSize), SocketFlags.None, token);
            position += sent;
            stream.AddSent(sent);
        }

        // FIN, then wait (bounded) for the client to finish reading and close its side.
        connection.Shutdown(SocketShutdown.Send);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (await connection.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
        {
        }
    }
}
