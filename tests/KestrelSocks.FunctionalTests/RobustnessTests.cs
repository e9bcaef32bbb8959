using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Bad clients hit the server while a good session runs: the good session's bytes and later clients are unharmed.</summary>
public sealed class RobustnessTests
{
    private const int ChunkSize = 16 * 1024;
    private const int Rounds = 3;

    private readonly ITestOutputHelper _output;

    public RobustnessTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task BadClients_DoNotHarmARunningSessionOrLaterClients()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Limits:HandshakeTimeout=00:00:01");
        await using var echo = EchoServer.Start();
        using var closedPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closedPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var refusedDestination = Socks5Address.FromEndPoint((IPEndPoint)closedPort.LocalEndPoint!);
        var echoDestination = Socks5Address.FromEndPoint(echo.EndPoint);

        await using var longSession = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        using var badClientsDone = new CancellationTokenSource();
        var longEcho = RunLongEchoAsync(longSession, badClientsDone.Token);

        Func<Task>[] badClients =
        [
            () => ExpectClosedWithoutReplyAsync(host, "GET / HTTP/1.1\r\nHost: proxy\r\n\r\n"u8.ToArray()),
            () => ExpectClosedWithoutReplyAsync(host, [0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0x00]),
            () => ExpectClosedWithoutReplyAsync(host, [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]),
            () => ExpectClosedWithoutReplyAsync(host, [0x05, 0x04, 0x00], shutdownSend: true),
            () => ExpectClosedWithoutReplyAsync(host, [0x05]), // slowloris: closed by the 1 s handshake timeout
            () => ExpectClosedWithoutReplyAsync(host, []), // connects and says nothing at all
            () => ExpectAnswersThenCloseAsync(host, [.. Greeting(), 0x05, 0x01, 0x07, 0x01, 127, 0, 0, 1, 0, 80], [0x05, 0x00, 0x05, (byte)ReplyCode.GeneralFailure]),
            () => ExpectAnswersThenCloseAsync(host, [.. Greeting(), 0x05, 0x01, 0x00, 0x02, 127, 0, 0, 1, 0, 80], [0x05, 0x00, 0x05, (byte)ReplyCode.AddressTypeNotSupported]),
            () => ExpectAnswersThenCloseAsync(host, [.. Greeting(), 0x05, 0x01, 0x00, 0x03, 0x00, 0, 80], [0x05, 0x00, 0x05, (byte)ReplyCode.GeneralFailure]),
            () => ExpectAnswersThenCloseAsync(host, [.. Greeting(), .. SocksTestClient.Request((Socks5Command)0x09, echoDestination)], [0x05, 0x00, 0x05, (byte)ReplyCode.CommandNotSupported]),
            () => ExpectAnswersThenCloseAsync(host, [.. Greeting(), .. SocksTestClient.Request((Socks5Command)0x00, echoDestination)], [0x05, 0x00, 0x05, (byte)ReplyCode.CommandNotSupported]),
            () => ExpectAnswersThenCloseAsync(host, [.. Greeting(), .. SocksTestClient.Request(Socks5Command.Connect, refusedDestination)], [0x05, 0x00, 0x05, (byte)ReplyCode.ConnectionRefused]),
            () => ExpectAnswersThenCloseAsync(host, SocksTestClient.Greeting(AuthMethod.UsernamePassword), [0x05, 0xFF]),
            () => ExpectAnswersThenCloseAsync(host, SocksTestClient.Greeting(AuthMethod.NoAuthentication), [0x05, 0x00], shutdownSend: true),
            () => FloodAfterGreetingAsync(host),
            () => ResetMidHandshakeAsync(host),
            () => ResetMidTunnelAsync(host, echo),
        ];

        for (var round = 0; round < Rounds; round++)
        {
            await Task.WhenAll(badClients.Select(badClient => badClient())).WaitAsync(TestTimeouts.Long);
        }

        await badClientsDone.CancelAsync();
        var chunks = await longEcho.WaitAsync(TestTimeouts.Long);
        _output.WriteLine($"The long session echoed {chunks} chunks of {ChunkSize} bytes while bad clients ran.");
        Assert.True(chunks > Rounds, $"The long session only echoed {chunks} chunks.");

        // The long session is still healthy, and so is a brand new client.
        await ConnectTests.AssertEchoesAsync(longSession, "still here"u8.ToArray());
        await using (var fresh = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint))
        {
            await ConnectTests.AssertEchoesAsync(fresh, "new and unharmed"u8.ToArray());
        }

        await host.AssertMetricAsync(1, "kestrelsocks_sessions_active");
        Assert.Empty(host.Logs.Errors);
    }

    /// <summary>Echoes distinct random chunks back to back, checking every byte, until told to stop; returns the chunk count.</summary>
    private static async Task<int> RunLongEchoAsync(SocksTestClient client, CancellationToken stop)
    {
        var random = new Random(1928);
        var sent = new byte[ChunkSize];
        var chunks = 0;
        while (!stop.IsCancellationRequested)
        {
            random.NextBytes(sent);
            var received = client.ReceiveExactlyAsync(sent.Length);
            await client.SendAsync(sent);
            ConnectTests.AssertSameBytes(sent, await received);
            chunks++;
        }

        return chunks;
    }

    private static byte[] Greeting() => SocksTestClient.Greeting(AuthMethod.NoAuthentication);

    private static async Task ExpectClosedWithoutReplyAsync(ProxyHost host, byte[] bytes, bool shutdownSend = false)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.SendAsync(bytes);
        if (shutdownSend)
        {
            client.ShutdownSend();
        }

        await client.AssertClosedWithoutReplyAsync();
    }

    private static async Task ExpectAnswersThenCloseAsync(ProxyHost host, byte[] bytes, byte[] expectedPrefix, bool shutdownSend = false)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.SendAsync(bytes);
        if (shutdownSend)
        {
            client.ShutdownSend();
        }

        var end = await client.ReadUntilClosedAsync();
        Assert.True(end.Data.AsSpan().StartsWith(expectedPrefix), $"Expected {Convert.ToHexString(expectedPrefix)}..., got {Convert.ToHexString(end.Data)}.");
    }

    /// <summary>A valid greeting, then 64 KiB that is no request; the server answers 01 and closes, reading or not.</summary>
    private static async Task FloodAfterGreetingAsync(ProxyHost host)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var junk = new byte[64 * 1024];
        Array.Fill(junk, (byte)0xEE);
        try
        {
            await client.SendAsync(junk);
        }
        catch (SocketException)
        {
            // The server may have answered and closed before all the junk was sent.
        }

        var end = await client.ReadUntilClosedAsync();
        if (end.Data.Length > 0)
        {
            Assert.Equal([0x05, (byte)ReplyCode.GeneralFailure], end.Data[..2]);
        }
    }

    private static async Task ResetMidHandshakeAsync(ProxyHost host)
    {
        var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.SendAsync(new byte[] { 0x05, 0x01 });
        client.Reset();
    }

    private static async Task ResetMidTunnelAsync(ProxyHost host, EchoServer echo)
    {
        var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(client, "about to vanish"u8.ToArray());
        await client.SendAsync(new byte[32 * 1024]);
        client.Reset();
    }
}
