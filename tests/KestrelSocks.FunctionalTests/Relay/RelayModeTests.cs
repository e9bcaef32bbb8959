using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using KestrelSocks.Session;
using KestrelSocks.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Relay;

/// <summary>
/// Every relay mode must behave the same: half-close both ways, early data first, large transfers byte-exact,
/// concurrent tunnels kept apart, resets passed on, and nothing leaked. Each test runs once per mode.
/// </summary>
public sealed class RelayModeTests
{
    private readonly ITestOutputHelper _output;

    public RelayModeTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string> Modes => OperatingSystem.IsLinux() ? ["Splice", "Socket", "Pipe"] : ["Socket", "Pipe"];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task ClientFinishesFirst_DestinationStillReplies(string mode)
    {
        await using var host = await StartAsync(mode);
        await using var destination = ReplyAfterEofServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, destination.EndPoint);
        var request = RandomBytes(300_000, seed: 1);

        await client.SendAsync(request);
        client.ShutdownSend();

        var end = await client.ReadUntilClosedAsync();
        Assert.Equal(ReplyAfterEofServer.ResponseFor(request.Length), end.Data);
        Assert.False(end.WasReset);
        ConnectTests.AssertSameBytes(request, await destination.Received.WaitAsync(TestTimeouts.Default));
        await host.AssertMetricAsync(1, "kestrelsocks_tunnel_ends_total", ("socks_tunnel_end", "completed"));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task DestinationFinishesFirst_ClientStillSends(string mode)
    {
        await using var host = await StartAsync(mode);
        await using var destination = SendThenShutdownServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, destination.EndPoint);

        // The destination has sent everything and its FIN; our bytes must still reach it afterwards.
        Assert.Equal(SendThenShutdownServer.Greeting, await client.ReceiveExactlyAsync(SendThenShutdownServer.Greeting.Length));
        var late = RandomBytes(200_000, seed: 2);
        await client.SendAsync(late);
        client.ShutdownSend();

        var end = await client.ReadUntilClosedAsync();
        Assert.Empty(end.Data);
        Assert.False(end.WasReset);
        ConnectTests.AssertSameBytes(late, await destination.Received.WaitAsync(TestTimeouts.Default));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task BytesBehindTheRequest_ReachTheDestinationFirst(string mode)
    {
        await using var host = await StartAsync(mode);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        var early = RandomBytes(100_000, seed: 3);

        // Greeting, request and 100 KB of payload in one write: the payload is read with the handshake.
        byte[] handshakeAndData = [.. SocksTestClient.Greeting(AuthMethod.NoAuthentication), .. SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint)), .. early];
        await client.SendAsync(handshakeAndData);
        Assert.Equal(AuthMethod.NoAuthentication, await client.ReadMethodSelectionAsync());
        Assert.Equal(ReplyCode.Succeeded, (await client.ReadReplyAsync()).Reply);
        var later = RandomBytes(50_000, seed: 4);
        await client.SendAsync(later);

        ConnectTests.AssertSameBytes([.. early, .. later], await client.ReceiveExactlyAsync(early.Length + later.Length));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task SixtyFourMebibytes_EchoByteExactBothWays(string mode)
    {
        await using var host = await StartAsync(mode);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        var payload = RandomBytes(64 * 1024 * 1024, seed: 5);

        // Send and receive at once: a relay that only moves one direction at a time would deadlock here.
        var received = client.ReceiveExactlyAsync(payload.Length);
        await client.SendAsync(payload).WaitAsync(TestTimeouts.Long);
        ConnectTests.AssertSameBytes(payload, await received.WaitAsync(TestTimeouts.Long));

        client.ShutdownSend();
        var end = await client.ReadUntilClosedAsync();
        Assert.Empty(end.Data);
        Assert.False(end.WasReset);
        await host.AssertMetricAsync(payload.Length, "kestrelsocks_relay_bytes_total", ("socks_direction", "upstream"));
        await host.AssertMetricAsync(payload.Length, "kestrelsocks_relay_bytes_total", ("socks_direction", "downstream"));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task ConcurrentTunnels_EachGetsOnlyItsOwnBytes(string mode)
    {
        const int Tunnels = 64;
        await using var host = await StartAsync(mode);
        await using var echo = EchoServer.Start();

        await Task.WhenAll(Enumerable.Range(0, Tunnels).Select(async i =>
        {
            await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
            var payload = RandomBytes(256 * 1024, seed: 100 + i);
            var received = client.ReceiveExactlyAsync(payload.Length);
            await client.SendAsync(payload);
            ConnectTests.AssertSameBytes(payload, await received);
        })).WaitAsync(TestTimeouts.Long);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task ClientReset_ResetsTheDestination(string mode)
    {
        await using var host = await StartAsync(mode);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, (IPEndPoint)listener.LocalEndPoint!);
        using var destination = await listener.AcceptAsync().WaitAsync(TestTimeouts.Default);
        await client.SendAsync(RandomBytes(10_000, seed: 6));
        await ReceiveExactlyAsync(destination, 10_000);

        client.Reset();

        Assert.True(await EndsWithResetAsync(destination), "A client reset must reach the destination as a reset, not a clean end.");
        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task DestinationReset_ResetsTheClient(string mode)
    {
        await using var host = await StartAsync(mode);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, (IPEndPoint)listener.LocalEndPoint!);
        var destination = await listener.AcceptAsync().WaitAsync(TestTimeouts.Default);
        await destination.SendAsync(new byte[] { 1, 2, 3 });
        Assert.Equal([1, 2, 3], await client.ReceiveExactlyAsync(3));

        destination.LingerState = new LingerOption(true, 0);
        destination.Dispose();

        var end = await client.ReadUntilClosedAsync();
        Assert.True(end.WasReset, "A destination reset must reach the client as a reset.");
        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task ThousandsOfSessions_IncludingAborted_LeakNoDescriptorOrPipe(string mode)
    {
        const int Rounds = 20;
        const int PerRound = 100;
        await using var host = await StartAsync(mode);
        await using var echo = EchoServer.Start();
        using var resetting = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        resetting.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        resetting.Listen(PerRound);

        // Warm up: first sessions create pooled objects (thread pool threads, pooled pipes) that are not leaks.
        await RunMixAsync(host, echo, resetting, 0, PerRound);
        await Eventually.AssertAsync(() => Volatile.Read(ref _openSessions) == 0, () => "warm-up sessions still open");
        var pipes = host.App.Services.GetRequiredService<SessionServices>().SplicePipes;
        int PipesOut() => OperatingSystem.IsLinux() ? pipes?.Outstanding ?? 0 : 0;

        // Idle pipes the splice pool keeps for reuse are not leaks: two descriptors each, left out of the count.
        int Open() => CountDescriptors() - (OperatingSystem.IsLinux() ? 2 * (pipes?.Pooled ?? 0) : 0);
        var baseline = Open();

        for (var round = 0; round < Rounds; round++)
        {
            await RunMixAsync(host, echo, resetting, round, PerRound);
        }

        _output.WriteLine($"{Rounds * PerRound} sessions, a third of them aborted by the client and a third by the destination.");
        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
        await Eventually.AssertAsync(
            () => Open() <= baseline + 2 && PipesOut() == 0,
            () => $"{Open()} sockets and unpooled pipes open against {baseline} before ({DescribeDescriptors()}); {PipesOut()} splice pipes out of the pool",
            TestTimeouts.Long);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Splice_PooledPipesCloseWithTheHost()
    {
        if (!OperatingSystem.IsLinux())
        {
            // Splice is Linux only, as Modes says; CI runs on Linux.
            return;
        }

        var host = await StartAsync("Splice");
        SplicePipePool pipes;
        await using (host)
        {
            await using var echo = EchoServer.Start();
            await using (var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint))
            {
                var payload = RandomBytes(256 * 1024, seed: 7);
                var received = client.ReceiveExactlyAsync(payload.Length);
                await client.SendAsync(payload);
                ConnectTests.AssertSameBytes(payload, await received);
            }

            await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
            pipes = host.App.Services.GetRequiredService<SessionServices>().SplicePipes!;
            await Eventually.AssertAsync(() => pipes.Pooled > 0, () => "no pipe went back to the pool");
        }

        // Disposing the host disposes the session services, and they the pool: no pipe outlives the server.
        Assert.Equal(0, pipes.Pooled);
    }

    private static int _openSessions;

    private static async Task RunMixAsync(ProxyHost host, EchoServer echo, Socket resetting, int round, int count)
    {
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            Interlocked.Increment(ref _openSessions);
            try
            {
                switch (i % 3)
                {
                    case 0:
                        await using (var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint))
                        {
                            var payload = RandomBytes(8 * 1024, seed: (round * count) + i);
                            var received = client.ReceiveExactlyAsync(payload.Length);
                            await client.SendAsync(payload);
                            ConnectTests.AssertSameBytes(payload, await received);
                            client.ShutdownSend();
                            Assert.False((await client.ReadUntilClosedAsync()).WasReset);
                        }

                        break;
                    case 1:
                        var aborted = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
                        await aborted.SendAsync(RandomBytes(4 * 1024, seed: i));
                        aborted.Reset();
                        break;
                    default:
                        await using (var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, (IPEndPoint)resetting.LocalEndPoint!))
                        {
                            // The destination resets only once a byte has crossed the tunnel, so the reset hits an
                            // established tunnel rather than the proxy's connect.
                            await client.SendAsync(new byte[] { 42 });
                            using var destination = await resetting.AcceptAsync().WaitAsync(TestTimeouts.Default);
                            await ReceiveExactlyAsync(destination, 1);
                            destination.LingerState = new LingerOption(true, 0);
                            destination.Dispose();
                            await client.ReadUntilClosedAsync();
                        }

                        break;
                }
            }
            finally
            {
                Interlocked.Decrement(ref _openSessions);
            }
        })).WaitAsync(TestTimeouts.Long);
    }

    private Task<ProxyHost> StartAsync(string mode) => ProxyHost.StartAsync(_output, [$"--KestrelSocks:Relay:Mode={mode}", .. ProxyHost.ManyClientsFromOneAddress], configure: null);

    /// <summary>
    /// Open sockets and pipes: what a session could leak. Files are left out: the runtime maps assemblies and
    /// symbol files lazily (the first logged stack trace loads several), which is not a leak.
    /// </summary>
    private static int CountDescriptors() => Directory.GetFiles("/proc/self/fd")
        .Select(fd => new FileInfo(fd).LinkTarget ?? "")
        .Count(target => target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("pipe:", StringComparison.Ordinal));

    private static string DescribeDescriptors() => string.Join(", ", Directory.GetFiles("/proc/self/fd")
        .Select(fd => new FileInfo(fd).LinkTarget ?? "?")
        .Where(target => !target.StartsWith('/'))
        .GroupBy(target => target.Split(':')[0])
        .Select(group => $"{group.Count()} {group.Key}"));

    internal static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var received = 0;
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        while (received < count)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, deadline.Token);
            Assert.NotEqual(0, read);
            received += read;
        }
    }

    private static async Task<bool> EndsWithResetAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(TestTimeouts.Default);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token) > 0)
            {
            }

            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }
    }
}
