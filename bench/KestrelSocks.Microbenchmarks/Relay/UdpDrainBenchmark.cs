using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using BenchmarkDotNet.Attributes;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Microbenchmarks.Relay;

/// <summary>
/// One turn of a Linux relay loop on one association (<see cref="UdpEventLoop.Drain"/>): 16 datagrams queued on the
/// association's socket are taken with one recvmmsg, each header parsed (client to destination) or written (reply to
/// the client), and sent with one sendmmsg. Each invocation first queues the 16 datagrams from a plain socket, so the
/// time includes those 16 sendto calls; the receivers are never read and the kernel drops what overflows them, which
/// costs the relay nothing. Metrics are listened to as in production. <c>Allocated</c> is the drain's own: the
/// target is 0 bytes.
/// </summary>
[MemoryDiagnoser]
[SupportedOSPlatform("linux")]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet runs GlobalCleanup, which disposes what GlobalSetup made.")]
public class UdpDrainBenchmark
{
    private const int Datagrams = UdpBatch.Slots;

    private ServiceProvider? _services;
    private MeterListener? _listener;
    private UdpRelay? _relay;
    private UdpAssociation? _association;
    private UdpBatch? _batch;
    private SocksMetrics _metrics = null!;
    private UdpTraffic _traffic = null!;
    private Socket _client = null!;
    private Socket _destination = null!;
    private SocketAddress _relayAddress = null!;
    private byte[] _request = [];
    private byte[] _reply = [];

    [Params(64, 1200)]
    public int PayloadSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        _metrics = new SocksMetrics(_services.GetRequiredService<IMeterFactory>());
        _traffic = _metrics.CreateUdpTraffic();
        _listener = new MeterListener { InstrumentPublished = static (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
        _listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
        _listener.Start();

        var options = Options.Create(new KestrelSocksOptions());
        options.Value.Udp.EventLoopThreads = 1;
        // Loopback is guarded by default; the relay's own cost is measured here, not the rules' (AccessRulesBenchmark).
        options.Value.Access.EgressGuard = false;
        var policy = new AccessPolicy(RuleSet.Create(options.Value.Access, SelfEndPoints.None, [])!, _metrics, NullLogger.Instance);
        _relay = new UdpRelay(options, _metrics, policy, KestrelSocks.Sockets.DescriptorBudget.Create(options.Value.Limits), TimeProvider.System, NullLogger<UdpRelay>.Instance);

        _client = Bound();
        _destination = Bound();
        _association = new UdpAssociation(_relay, new UdpAssociationSettings
        {
            ClientAddress = IPAddress.Loopback,
            ClientPort = ((IPEndPoint)_client.LocalEndPoint!).Port,
            ControlLocalAddress = IPAddress.Loopback,
            User = "-",
            ConnectionId = "benchmark",
        }, id: 1);

        // Not started: no loop watches the socket, the benchmark drains it itself.
        _batch = new UdpBatch();
        _relayAddress = _association.RelayEndPoint.Serialize();
        var payload = new byte[PayloadSize];
        _request = new byte[10 + PayloadSize];
        Socks5UdpHeader.Write(_request, 0, Socks5Address.FromEndPoint((IPEndPoint)_destination.LocalEndPoint!));
        payload.CopyTo(_request.AsSpan(10));
        _reply = payload;

        // The client speaks first, so the destination counts as contacted and its replies are relayed.
        _client.SendTo(_request, SocketFlags.None, _relayAddress);
        WaitAndDrain();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Datagrams)]
    public void ClientToDestination()
    {
        for (var i = 0; i < Datagrams; i++)
        {
            _client.SendTo(_request, SocketFlags.None, _relayAddress);
        }

        UdpEventLoop.Drain(_association!, _association!.ClientSocket, _batch!, _metrics, _traffic, NullLogger.Instance);
    }

    [Benchmark(OperationsPerInvoke = Datagrams)]
    public void DestinationToClient()
    {
        for (var i = 0; i < Datagrams; i++)
        {
            _destination.SendTo(_reply, SocketFlags.None, _relayAddress);
        }

        UdpEventLoop.Drain(_association!, _association!.ClientSocket, _batch!, _metrics, _traffic, NullLogger.Instance);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _association?.Dispose();
        _relay?.Dispose();
        _batch?.Dispose();
        _client.Dispose();
        _destination.Dispose();
        _listener?.Dispose();
        _services?.Dispose();
    }

    private void WaitAndDrain()
    {
        if (!_association!.ClientSocket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead))
        {
            throw new InvalidOperationException("The first datagram never reached the association.");
        }

        UdpEventLoop.Drain(_association, _association.ClientSocket, _batch!, _metrics, _traffic, NullLogger.Instance);
        if (_association.DatagramsUp != 1)
        {
            throw new InvalidOperationException("The first datagram was not relayed.");
        }
    }

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
