using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol.ProxyProtocol;
using KestrelSocks.Session;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Session;

/// <summary>The PROXY protocol middleware over an in-memory connection: who is trusted, what the session sees, what is counted.</summary>
public sealed class ProxyHeaderReaderTests : IDisposable
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(10);
    private static readonly IPEndPoint _balancer = IPEndPoint.Parse("10.0.1.1:40000");
    private static readonly byte[] _greeting = [0x05, 0x01, 0x00];

    private readonly FakeTimeProvider _time = new();
    private readonly TestMeterFactory _meterFactory = new();
    private readonly MetricCollector<long> _accepted;
    private readonly MetricCollector<long> _rejected;

    public ProxyHeaderReaderTests()
    {
        _accepted = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.proxy_protocol.headers");
        _rejected = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.proxy_protocol.rejected");
    }

    [Theory]
    [InlineData("PROXY TCP4 192.0.2.7 10.0.1.2 51000 1080\r\n", "192.0.2.7:51000", "1", "proxy")]
    [InlineData("PROXY TCP6 2001:db8::7 2001:db8::2 51000 1080\r\n", "[2001:db8::7]:51000", "1", "proxy")]
    [InlineData("PROXY UNKNOWN\r\n", "10.0.1.1:40000", "1", "local")]
    public async Task TrustedPeer_WithAHeader_RunsTheSessionAsTheClient_AndLeavesTheGreeting(string header, string client, string version, string command)
    {
        var connection = CreateConnection(_balancer);
        await connection.Client.WriteAsync((byte[])[.. Encoding.ASCII.GetBytes(header), .. _greeting]);

        var next = await RunAsync(connection, ["10.0.1.0/24"]);

        Assert.NotNull(next.Seen);
        Assert.Equal(IPEndPoint.Parse(client), next.Seen!.RemoteEndPoint);
        Assert.Equal(_greeting, next.FirstBytes);
        var measurement = Assert.Single(_accepted.GetMeasurementSnapshot());
        Assert.Equal(version, measurement.Tags[MetricNames.ProxyVersionTag]);
        Assert.Equal(command, measurement.Tags[MetricNames.ProxyCommandTag]);
        Assert.Empty(_rejected.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task TrustedPeer_V2HeaderSentByteByByte_IsReadWhole()
    {
        var connection = CreateConnection(IPEndPoint.Parse("[fd00::1]:40000"));
        byte[] header =
        [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C,
            198, 51, 100, 9, 10, 0, 1, 2, 0xC3, 0x50, 0x04, 0x38,
        ];

        var running = RunAsync(connection, ["fd00::/8"]);
        foreach (var b in (byte[])[.. header, .. _greeting])
        {
            await connection.Client.WriteAsync(new[] { b });
        }

        var next = await running;
        Assert.Equal(IPEndPoint.Parse("198.51.100.9:50000"), next.Seen!.RemoteEndPoint);
        Assert.Equal(_greeting, next.FirstBytes);
    }

    [Theory]
    [InlineData("10.0.2.1:40000")]
    [InlineData("[::ffff:10.0.2.1]:40000")]
    [InlineData("[fd00::1]:40000")]
    public async Task UntrustedPeer_IsClosedBeforeAByteIsRead(string peer)
    {
        var connection = CreateConnection(IPEndPoint.Parse(peer));
        await connection.Client.WriteAsync(Encoding.ASCII.GetBytes("PROXY TCP4 192.0.2.7 10.0.1.2 51000 1080\r\n"));

        var next = await RunAsync(connection, ["10.0.1.0/24"]);

        Assert.Null(next.Seen);
        await connection.AssertAbortedAsync();
        AssertRejected(ProxyHeaderRejectReason.Untrusted);
    }

    [Fact]
    public async Task TrustedMappedPeer_MatchesItsIPv4Network()
    {
        var connection = CreateConnection(IPEndPoint.Parse("[::ffff:10.0.1.1]:40000"));
        await connection.Client.WriteAsync((byte[])[.. "PROXY TCP4 192.0.2.7 10.0.1.2 51000 1080\r\n"u8, .. _greeting]);

        var next = await RunAsync(connection, ["10.0.1.1"]);

        Assert.Equal(IPEndPoint.Parse("192.0.2.7:51000"), next.Seen!.RemoteEndPoint);
    }

    [Theory]
    [InlineData(new byte[] { 0x05, 0x01, 0x00 }, "Missing")]
    [InlineData(new byte[] { (byte)'P', (byte)'R', (byte)'O', (byte)'X', (byte)'Y', (byte)' ', (byte)'T', (byte)'C', (byte)'P', (byte)'5', (byte)'\r', (byte)'\n' }, "Malformed")]
    [InlineData(new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x12, 0x00, 0x0C }, "Unsupported")]
    [InlineData(new byte[] { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0xFF, 0xFF }, "Oversized")]
    public async Task TrustedPeer_WithBadBytes_IsClosedAndCountedByReason(byte[] bytes, string reason)
    {
        var connection = CreateConnection(_balancer);
        await connection.Client.WriteAsync(bytes);

        var next = await RunAsync(connection, ["10.0.1.0/24"]);

        Assert.Null(next.Seen);
        await connection.AssertAbortedAsync();
        AssertRejected(Enum.Parse<ProxyHeaderRejectReason>(reason));
    }

    [Fact]
    public async Task TrustedPeer_ClosingInsideTheHeader_IsCountedAsTruncated()
    {
        var connection = CreateConnection(_balancer);
        await connection.Client.WriteAsync("PROXY TCP4 192.0.2.7"u8.ToArray());
        await connection.Client.CompleteAsync();

        var next = await RunAsync(connection, ["10.0.1.0/24"]);

        Assert.Null(next.Seen);
        AssertRejected(ProxyHeaderRejectReason.Truncated);
    }

    [Fact]
    public async Task TrustedPeer_SilentPastTheHeaderTimeout_IsClosedAsTimeout()
    {
        var connection = CreateConnection(_balancer);
        await connection.Client.WriteAsync("PROXY TCP4"u8.ToArray());

        var running = RunAsync(connection, ["10.0.1.0/24"], headerTimeout: TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.False(running.IsCompleted);
        _time.Advance(TimeSpan.FromTicks(1));
        var next = await running.WaitAsync(_wait);

        Assert.Null(next.Seen);
        AssertRejected(ProxyHeaderRejectReason.Timeout);
    }

    [Fact]
    public void EveryParserError_MapsToAReasonTheParserCanCause()
    {
        var reasons = Enum.GetValues<ProxyHeaderError>().Select(ProxyHeaderReader.GetReason).ToHashSet();
        Assert.Equal(
            [ProxyHeaderRejectReason.Missing, ProxyHeaderRejectReason.Malformed, ProxyHeaderRejectReason.Unsupported, ProxyHeaderRejectReason.Oversized],
            reasons.Order());
    }

    public void Dispose()
    {
        _accepted.Dispose();
        _rejected.Dispose();
        _meterFactory.Dispose();
    }

    private void AssertRejected(ProxyHeaderRejectReason reason)
    {
        var measurement = Assert.Single(_rejected.GetMeasurementSnapshot());
        Assert.Equal(MetricNames.GetProxyRejectReasonName(reason), measurement.Tags[MetricNames.ProxyRejectReasonTag]);
        Assert.Equal(1, measurement.Value);
        Assert.Empty(_accepted.GetMeasurementSnapshot());
    }

    private async Task<NextStage> RunAsync(TestConnection connection, string[] trusted, TimeSpan? headerTimeout = null)
    {
        var options = new KestrelSocksOptions();
        options.ProxyProtocol.Listen = ["10.0.1.2:1080"];
        options.ProxyProtocol.TrustedNetworks = trusted;
        options.ProxyProtocol.HeaderTimeout = headerTimeout ?? TimeSpan.FromSeconds(5);
        var reader = new ProxyHeaderReader(Options.Create(options), new SocksMetrics(_meterFactory), NullLoggerFactory.Instance, _time);

        var next = new NextStage();
        await reader.OnConnectedAsync(connection.Context, async context =>
        {
            next.Seen = context;
            var result = await context.Transport.Input.ReadAtLeastAsync(_greeting.Length);
            next.FirstBytes = result.Buffer.Slice(0, _greeting.Length).ToArray();
        }).WaitAsync(_wait);
        return next;
    }

    private static TestConnection CreateConnection(IPEndPoint peer) => new(peer);

    private sealed class NextStage
    {
        public ConnectionContext? Seen { get; set; }

        public byte[]? FirstBytes { get; set; }
    }

    /// <summary>An accepted connection whose client side the test writes: bytes in, abort observed.</summary>
    private sealed class TestConnection
    {
        private readonly Pipe _input = new();
        private readonly Pipe _output = new();

        public TestConnection(IPEndPoint peer)
        {
            Context = new DefaultConnectionContext("test", new DuplexPipe(_input.Reader, _output.Writer), new DuplexPipe(_output.Reader, _input.Writer))
            {
                RemoteEndPoint = peer,
            };
        }

        public DefaultConnectionContext Context { get; }

        public PipeWriter Client => _input.Writer;

        /// <summary>The context signals an abort from the thread pool.</summary>
        public Task AssertAbortedAsync() => Task.Delay(Timeout.Infinite, Context.ConnectionClosed)
            .ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(_wait);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
