using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>TCP half-close through the tunnel: each direction ends on its own, and the other keeps flowing.</summary>
public sealed class HalfCloseTests
{
    private readonly ITestOutputHelper _output;

    public HalfCloseTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task ClientShutsDownSend_DestinationSeesEndOfStreamAndCanStillReply()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var destination = ReplyAfterEofServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, destination.EndPoint);
        var request = new byte[100_000];
        new Random(7).NextBytes(request);

        await client.SendAsync(request);
        client.ShutdownSend();

        // The destination answers only after it has read our FIN, so the answer proves both halves.
        var end = await client.ReadUntilClosedAsync();
        Assert.Equal(ReplyAfterEofServer.ResponseFor(request.Length), end.Data);
        Assert.False(end.WasReset, "The tunnel should end with FIN once both sides are done, not with RST.");
        ConnectTests.AssertSameBytes(request, await destination.Received.WaitAsync(TestTimeouts.Default));
    }

    [Fact]
    public async Task ClientSendsRequestDataAndFinInOneGo_DestinationGetsAllAndCanReply()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var destination = ReplyAfterEofServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        var payload = "one shot: request, data and end of stream before any answer"u8.ToArray();

        // Like "printf ... | nc": everything, then FIN, before the proxy has even connected upstream.
        await client.SendAsync((byte[])
        [
            .. SocksTestClient.Greeting(AuthMethod.NoAuthentication),
            .. SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(destination.EndPoint)),
            .. payload,
        ]);
        client.ShutdownSend();

        Assert.Equal(AuthMethod.NoAuthentication, await client.ReadMethodSelectionAsync());
        Assert.Equal(ReplyCode.Succeeded, (await client.ReadReplyAsync()).Reply);
        var end = await client.ReadUntilClosedAsync();
        Assert.Equal(ReplyAfterEofServer.ResponseFor(payload.Length), end.Data);
        Assert.Equal(payload, await destination.Received.WaitAsync(TestTimeouts.Default));
    }

    [Fact]
    public async Task DestinationShutsDownSend_ClientSeesEndOfStreamAndCanStillSend()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var destination = SendThenShutdownServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, destination.EndPoint);

        // Everything the destination sent, then its FIN: end of stream while our side is still open.
        var first = await client.ReadUntilClosedAsync();
        Assert.Equal(SendThenShutdownServer.Greeting, first.Data);
        Assert.False(first.WasReset);

        var more = new byte[200_000];
        new Random(11).NextBytes(more);
        await client.SendAsync(more);
        await client.SendAsync("and the last words"u8.ToArray());
        client.ShutdownSend();

        var received = await destination.Received.WaitAsync(TestTimeouts.Default);
        ConnectTests.AssertSameBytes([.. more, .. "and the last words"u8], received);

        // Both directions are done now: the proxy closes the client connection cleanly.
        var last = await client.ReadUntilClosedAsync();
        Assert.Empty(last.Data);
        Assert.False(last.WasReset);
    }
}
