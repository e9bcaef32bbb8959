using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using KestrelSocks.Diagnostics;
using KestrelSocks.Relay;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace KestrelSocks.Microbenchmarks.Relay;

/// <summary>
/// The tunnel's per-message path: a client ping-pongs through a real <see cref="SocketTunnel"/> to an echo over
/// loopback TCP, each message waking the tunnel once per direction (readiness peek, move, wait again). The baseline
/// ping-pongs with the echo directly, so <c>Ratio</c> is what the relay adds. The client and the echo use blocking
/// calls on fixed buffers and allocate nothing, and metrics are listened to as in production, so <c>Allocated</c> is
/// the tunnel's own allocation per message: the target is 0 bytes.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet runs GlobalCleanup, which disposes what GlobalSetup made.")]
public class SocketTunnelBenchmark
{
    private const int Exchanges = 200;

    private readonly List<Socket> _sockets = [];
    private MeterListener? _listener;
    private ServiceProvider? _services;
    private SplicePipePool? _pipes;
    private Socket _viaTunnel = null!;
    private Socket _direct = null!;
    private Thread? _echo;
    private Task<TunnelEnd>? _tunnel;
    private byte[] _message = [];
    private byte[] _received = [];

    /// <summary>Splice moves bytes through a pooled kernel pipe; Socket copies them through a pooled buffer.</summary>
    [Params("Splice", "Socket")]
    public string Mode { get; set; } = "Splice";

    /// <summary>A small request and a message large enough to span several segments.</summary>
    [Params(64, 16 * 1024)]
    public int MessageSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _message = new byte[MessageSize];
        Random.Shared.NextBytes(_message);
        _received = new byte[MessageSize];

        // Metrics are on in production (the Prometheus exporter listens): count bytes the same way here.
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new SocksMetrics(_services.GetRequiredService<IMeterFactory>());
        _listener = new MeterListener { InstrumentPublished = static (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
        _listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
        _listener.Start();

        using var echoListener = Listen();
        _echo = new Thread(() => Echo(echoListener.Accept(), echoListener.Accept())) { IsBackground = true, Name = "echo" };
        _echo.Start();

        // Client → (client-facing socket) tunnel (upstream socket) → echo, as after a CONNECT hand-over.
        using var proxyListener = Listen();
        _viaTunnel = Connect((IPEndPoint)proxyListener.LocalEndPoint!);
        var clientFacing = Track(proxyListener.Accept());
        var upstream = Connect((IPEndPoint)echoListener.LocalEndPoint!);
        _direct = Connect((IPEndPoint)echoListener.LocalEndPoint!);

        _pipes = Mode == "Splice" && LinuxSplice.IsSupported ? new SplicePipePool(64) : null;
        if (Mode == "Splice" && _pipes is null)
        {
            throw new PlatformNotSupportedException("splice(2) needs Linux.");
        }

        var tunnel = new SocketTunnel(new DefaultConnectionContext(), clientFacing, upstream, earlyData: null, earlyLength: 0,
            clientFinished: false, _pipes, TimeSpan.FromHours(1), metrics, TimeProvider.System, upstreamLimit: null, downstreamLimit: null);
        _tunnel = tunnel.RunAsync();

        // Warm both paths once, so the first measured exchange pays no connection set-up.
        RoundTrips(_viaTunnel, 1);
        RoundTrips(_direct, 1);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        _tunnel?.Wait(TimeSpan.FromSeconds(10));
        _echo?.Join(TimeSpan.FromSeconds(10));
        if (OperatingSystem.IsLinux())
        {
            _pipes?.Dispose();
        }
        _listener?.Dispose();
        _services?.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Exchanges)]
    public void Direct() => RoundTrips(_direct, Exchanges);

    [Benchmark(OperationsPerInvoke = Exchanges)]
    public void ThroughTunnel() => RoundTrips(_viaTunnel, Exchanges);

    private void RoundTrips(Socket socket, int count)
    {
        for (var i = 0; i < count; i++)
        {
            socket.Send(_message);
            var received = 0;
            while (received < _received.Length)
            {
                var read = socket.Receive(_received, received, _received.Length - received, SocketFlags.None);
                if (read == 0)
                {
                    throw new InvalidOperationException("The echo closed the connection.");
                }

                received += read;
            }
        }
    }

    /// <summary>Echoes two connections (the tunnel's upstream and the direct client), one thread, blocking calls.</summary>
    private void Echo(Socket first, Socket second)
    {
        Track(first);
        Track(second);
        var buffer = new byte[64 * 1024];
        var sockets = new List<Socket> { first, second };
        var readable = new List<Socket>(2);
        try
        {
            while (true)
            {
                readable.Clear();
                readable.AddRange(sockets);
                Socket.Select(readable, null, null, -1);
                foreach (var socket in readable)
                {
                    var read = socket.Receive(buffer);
                    if (read == 0)
                    {
                        return;
                    }

                    socket.Send(buffer, 0, read, SocketFlags.None);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Cleanup closed the sockets.
        }
    }

    private Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        return listener;
    }

    private Socket Connect(IPEndPoint endPoint)
    {
        var socket = Track(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
        socket.Connect(endPoint);
        return socket;
    }

    private Socket Track(Socket socket)
    {
        lock (_sockets)
        {
            _sockets.Add(socket);
        }

        socket.NoDelay = true;
        return socket;
    }
}
