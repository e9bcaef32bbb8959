using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Payload;
using KestrelSocks.Protocol;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// One UDP association of the generator: the client socket it sends from and is answered on, the proxy's relay
/// endpoint as a cached <see cref="SocketAddress"/> (or the echo target's, direct), and the control connection
/// that keeps the association alive. Its counters are written by one pacer thread and one receive thread.
/// </summary>
internal sealed class UdpAssociationClient : IDisposable
{
    private readonly Socket? _control;
    private UdpStep? _step;
    private long _sentOk;
    private long _sendErrors;
    private long _duplicates;
    private long _corrupt;
    private long _late;

    private UdpAssociationClient(int index, UdpClientSocket home, Socket? control, SocketAddress destination)
    {
        Index = index;
        Home = home;
        _control = control;
        Destination = destination;
    }

    public int Index { get; }

    /// <summary>The generator socket this association sends from and receives on.</summary>
    public UdpClientSocket Home { get; }

    public bool Proxied => _control is not null;

    /// <summary>Where datagrams go: the relay endpoint from the reply, or the echo target.</summary>
    public SocketAddress Destination { get; }

    /// <summary>Sequence number of the next datagram; used only by the one pacer thread that owns this association.</summary>
    public long NextSequence { get; set; }

    public long SentOk => Volatile.Read(ref _sentOk);

    public long SendErrors => Volatile.Read(ref _sendErrors);

    public long Duplicates => Volatile.Read(ref _duplicates);

    public long Corrupt => Volatile.Read(ref _corrupt);

    public long Late => Volatile.Read(ref _late);

    public static async Task<UdpAssociationClient> OpenAsync(int index, UdpClientSocket home, SocksClient client, IPEndPoint echo, CancellationToken cancellationToken)
    {
        if (client.IsDirect)
        {
            return new UdpAssociationClient(index, home, null, echo.Serialize());
        }

        var request = SocksClient.EncodeRequest(Socks5Command.UdpAssociate, home.LocalEndPoint);
        var (control, relay) = await client.RequestAsync(request, cancellationToken);
        return new UdpAssociationClient(index, home, control, relay.Serialize());
    }

    /// <summary>Points the association at a new step; datagrams of older steps are counted late.</summary>
    public void BeginStep(UdpStep step)
    {
        NextSequence = 0;
        Volatile.Write(ref _sentOk, 0);
        Volatile.Write(ref _sendErrors, 0);
        Volatile.Write(ref _duplicates, 0);
        Volatile.Write(ref _corrupt, 0);
        Volatile.Write(ref _late, 0);
        Volatile.Write(ref _step, step);
    }

    public void CountSend(bool ok)
    {
        if (ok)
        {
            Volatile.Write(ref _sentOk, _sentOk + 1);
        }
        else
        {
            Interlocked.Increment(ref _sendErrors);
        }
    }

    public void CountCorrupt() => Interlocked.Increment(ref _corrupt);

    /// <summary>Checks an echoed payload stamped for this association and marks its sequence number.</summary>
    public void Accept(int stepId, long sequence, ReadOnlySpan<byte> payload, PayloadPattern pattern)
    {
        var step = Volatile.Read(ref _step);
        if (step is null || stepId != step.Id)
        {
            Interlocked.Increment(ref _late);
            return;
        }

        var position = UdpDatagram.PatternPosition(Index, stepId, sequence, payload.Length);
        if (!pattern.Matches(position, payload[UdpDatagram.StampLength..]))
        {
            Interlocked.Increment(ref _corrupt);
            return;
        }

        if (!step.TryMark(Index, sequence))
        {
            Interlocked.Increment(ref _duplicates);
        }
    }

    public void Dispose()
    {
        SocketIo.CloseQuietly(_control);
    }
}
