using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Time.Testing;
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
    public async Task Slowloris_OneByteThenStall_ClosedAtTheHandshakeTimeout()
    {
        var clock = new FakeTimeProvider();
        var handshakeTimeout = TimeSpan.FromSeconds(10);
        await using var host = await ProxyHost.StartAsync(_output, clock, $"--KestrelSocks:Limits:HandshakeTimeout={handshakeTimeout}");
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        // The answer to the greeting proves the session is reading, with its handshake timer running.
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        await client.SendAsync(new byte[] { 0x05 });
        var closed = client.ReadUntilClosedAsync();

        await VirtualTime.AssertNotYetAsync(clock, handshakeTimeout - TimeSpan.FromTicks(1), closed, "The close");
        clock.Advance(TimeSpan.FromTicks(1));
        var end = await closed.WaitAsync(TestTimeouts.Default);

        Assert.Empty(end.Data);
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "timeout"));
    }

    [Fact]
    public async Task Slowloris_TimeoutCoversTheWholeHandshake_NotEachRead()
    {
        var clock = new FakeTimeProvider();
        var handshakeTimeout = TimeSpan.FromSeconds(10);
        await using var host = await ProxyHost.StartAsync(_output, clock, $"--KestrelSocks:Limits:HandshakeTimeout={handshakeTimeout}");
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        // A greeting, then a request trickled in a byte per quarter of the timeout: no read waits long, and the
        // request never completes. A timer per read would never fire; the handshake's fires when the quarters add up.
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var closed = client.ReadUntilClosedAsync();
        byte[] neverEnding = [0x05, 0x01, 0x00, 0x03];
        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync(new[] { neverEnding[i] });
            await VirtualTime.AssertNotYetAsync(clock, handshakeTimeout / 4, closed, "The close");
        }

        await client.SendAsync(new[] { neverEnding[3] });
        clock.Advance(handshakeTimeout / 4);
        var end = await closed.WaitAsync(TestTimeouts.Default);

        Assert.Empty(end.Data);
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
