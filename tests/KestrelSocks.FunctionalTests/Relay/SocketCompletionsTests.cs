using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;

namespace KestrelSocks.FunctionalTests.Relay;

/// <summary>
/// The server executable turns on inline socket completions unless the operator set the variable (Program.cs), says
/// so at start, and tunnels then move bulk transfers off the socket engine's threads. Both ways of running must relay
/// the same bytes: bulk tunnels byte-exact both ways beside a ping-pong tunnel, then half-close, in the real process.
/// </summary>
public sealed class SocketCompletionsTests
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    // null: the executable's default (inline); "0": the operator turned it off.
    public static TheoryData<string?> Settings => [null, "0"];

    [Fact]
    public void InProcessHosts_RunLikeTheExecutable()
    {
        // Set by inline-completions.runsettings; without it every in-process test would take the other path.
        Assert.Equal("1", Environment.GetEnvironmentVariable(InlineCompletions));
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public async Task BulkTunnels_BesideAPingPong_RelayEveryByte(string? inlineCompletions)
    {
        const int BulkTunnels = 4;
        const int BulkBytes = 8 * 1024 * 1024;
        const int RoundTrips = 300;
        await using var echo = EchoServer.Start();
        await using var server = ServerProcess.Start(new Dictionary<string, string?> { [InlineCompletions] = inlineCompletions });
        var socks = await server.WaitForSocksEndPointAsync();

        // The executable turns them on by itself; an operator's own value wins.
        await server.WaitForOutputAsync(inlineCompletions is null
            ? $"Socket completions run inline on the socket engine threads ({InlineCompletions}=1)"
            : $"Socket completions run on the thread pool ({InlineCompletions}={inlineCompletions})");

        var bulk = Enumerable.Range(0, BulkTunnels).Select(async i =>
        {
            await using var client = await SocksTestClient.OpenTunnelAsync(socks, echo.EndPoint);
            var payload = RelayModeTests.RandomBytes(BulkBytes, seed: 700 + i);
            var received = client.ReceiveExactlyAsync(payload.Length);
            await client.SendAsync(payload);
            ConnectTests.AssertSameBytes(payload, await received);
            client.ShutdownSend();
            var end = await client.ReadUntilClosedAsync();
            Assert.Empty(end.Data);
            Assert.False(end.WasReset);
        }).ToArray();

        await using (var pingPong = await SocksTestClient.OpenTunnelAsync(socks, echo.EndPoint))
        {
            for (var i = 0; i < RoundTrips; i++)
            {
                var message = RelayModeTests.RandomBytes(64, seed: i);
                await pingPong.SendAsync(message);
                ConnectTests.AssertSameBytes(message, await pingPong.ReceiveExactlyAsync(message.Length));
            }

            pingPong.ShutdownSend();
            var end = await pingPong.ReadUntilClosedAsync();
            Assert.Empty(end.Data);
            Assert.False(end.WasReset);
        }

        await Task.WhenAll(bulk).WaitAsync(TestTimeouts.Long);
        Assert.Equal(0, await server.TerminateAsync());
        Assert.Empty(server.StandardError);
    }
}
