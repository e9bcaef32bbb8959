using System.Diagnostics;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Clients that never finish a valid greeting: each is closed, without a reply it could misread, and counted.</summary>
public sealed class HandshakeTests
{
    private readonly ITestOutputHelper _output;

    public HandshakeTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task HttpRequestInsteadOfGreeting_ClosedWithoutReply()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        await client.SendAsync("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");

        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "bad_version"));
    }

    [Fact]
    public async Task Socks4Request_ClosedWithoutReply()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        // SOCKS4 CONNECT to 127.0.0.1:80, user id "u".
        await client.SendAsync(new byte[] { 0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, (byte)'u', 0x00 });

        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "bad_version"));
    }

    [Fact]
    public async Task TruncatedGreetingThenClientCloses_ClosedAndCountedAsClientClosed()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        // Says three methods follow, sends one, then ends the stream.
        await client.SendAsync(new byte[] { 0x05, 0x03, 0x00 });
        client.ShutdownSend();

        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "client_closed"));
    }

    [Fact]
    public async Task TruncatedRequestThenClientCloses_ClosedWithoutReply()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.GreetAsync(AuthMethod.NoAuthentication);

        await client.SendAsync(new byte[] { 0x05, 0x01, 0x00, 0x03, 20, (byte)'l', (byte)'o' });
        client.ShutdownSend();

        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "client_closed"));
    }

    [Fact]
    public async Task Slowloris_OneByteThenStall_ClosedAfterHandshakeTimeout()
    {
        var handshakeTimeout = TimeSpan.FromSeconds(1);
        await using var host = await ProxyHost.StartAsync(_output, $"--KestrelSocks:Limits:HandshakeTimeout={handshakeTimeout}");
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        var stopwatch = Stopwatch.StartNew();
        await client.SendAsync(new byte[] { 0x05 });
        await client.AssertClosedWithoutReplyAsync();

        Assert.True(stopwatch.Elapsed >= handshakeTimeout - TimeSpan.FromMilliseconds(250), $"Closed after {stopwatch.Elapsed}, before the handshake timeout.");
        Assert.True(stopwatch.Elapsed < handshakeTimeout + TimeSpan.FromSeconds(5), $"Closed only after {stopwatch.Elapsed}.");
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "timeout"));
    }

    [Fact]
    public async Task Slowloris_TimeoutCoversTheWholeHandshake_NotEachRead()
    {
        var handshakeTimeout = TimeSpan.FromSeconds(1);
        await using var host = await ProxyHost.StartAsync(_output, $"--KestrelSocks:Limits:HandshakeTimeout={handshakeTimeout}");
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        var stopwatch = Stopwatch.StartNew();

        // A greeting, then a request trickled in byte by byte, each byte well inside the timeout; it never completes.
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var closed = client.ReadUntilClosedAsync();
        byte[] neverEnding = [0x05, 0x01, 0x00, 0x03, 255];
        for (var i = 0; !closed.IsCompleted && stopwatch.Elapsed < TimeSpan.FromSeconds(8); i++)
        {
            try
            {
                await client.SendAsync(new[] { i < neverEnding.Length ? neverEnding[i] : (byte)'a' });
            }
            catch (System.Net.Sockets.SocketException)
            {
                break;
            }

            await Task.WhenAny(closed, Task.Delay(TimeSpan.FromMilliseconds(200)));
        }

        var end = await closed.WaitAsync(TestTimeouts.Default);
        Assert.Empty(end.Data);
        Assert.True(stopwatch.Elapsed < handshakeTimeout + TimeSpan.FromSeconds(5), $"Still open after {stopwatch.Elapsed} of trickling.");
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "timeout"));
    }

    [Fact]
    public async Task GreetingWithZeroMethods_NoAcceptableMethodThenClosed()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        await client.SendAsync(new byte[] { 0x05, 0x00 });

        Assert.Equal(AuthMethod.NoAcceptableMethods, await client.ReadMethodSelectionAsync());
        await client.AssertClosedWithoutReplyAsync();
    }

    [Fact]
    public async Task ClientResetsMidHandshake_ServerCarriesOn()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using (var rude = await SocksTestClient.ConnectAsync(host.SocksEndPoint))
        {
            await rude.SendAsync(new byte[] { 0x05, 0x02 });
            rude.Reset();
        }

        await using (var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint))
        {
            await ConnectTests.AssertEchoesAsync(client, "still serving"u8.ToArray());
        }

        await host.AssertMetricAsync(0, "kestrelsocks_sessions_active");
        Assert.Empty(host.Logs.Errors);
    }
}
