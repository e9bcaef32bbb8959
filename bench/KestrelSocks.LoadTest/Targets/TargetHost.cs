using System.Net;
using KestrelSocks.LoadTest.Payload;

namespace KestrelSocks.LoadTest.Targets;

/// <summary>The loopback targets every mode talks to, started in this process for the length of a run.</summary>
internal sealed class TargetHost : IAsyncDisposable
{
    private TargetHost(TcpEchoTarget echo, TcpBulkTarget bulk, UdpEchoTarget udpEcho)
    {
        Echo = echo;
        Bulk = bulk;
        UdpEcho = udpEcho;
    }

    public TcpEchoTarget Echo { get; }

    public TcpBulkTarget Bulk { get; }

    public UdpEchoTarget UdpEcho { get; }

    public static TargetHost Start(PayloadPattern pattern, int bulkChunkSize)
    {
        var address = IPAddress.Loopback;
        var echo = TcpEchoTarget.Start(address);
        var bulk = TcpBulkTarget.Start(address, pattern, bulkChunkSize);
        var udp = new UdpEchoTarget(address, threads: 1);
        return new TargetHost(echo, bulk, udp);
    }

    public async ValueTask DisposeAsync()
    {
        UdpEcho.Dispose();
        await Bulk.DisposeAsync();
        await Echo.DisposeAsync();
    }
}
