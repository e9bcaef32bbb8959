using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.FunctionalTests.Abuse;

/// <summary>
/// The crash scenarios, scaled down with prlimit(1): the real server runs with 1,024 descriptors, and anonymous
/// clients try to take them all with pipelined UDP ASSOCIATE requests and with idle CONNECT tunnels. The server must
/// answer every request (REP 01 once the budget is spent, never a reset), stay up, keep its health endpoint answering,
/// and serve a new client once the attacker leaves, or at once where a per-client limit held the attacker back. The
/// attacker's sockets live in this process, so the tests run apart from those that count its descriptors.
/// </summary>
[Collection(FileDescriptorCollection.Name)]
public sealed class DescriptorBudgetTests
{
    private const int DescriptorLimit = 1024;
    private static readonly IPAddress _attacker = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task PipelinedUdpAssociations_PastTheBudget_AreRefusedWithGeneralFailure_AndTheServerStaysUp()
    {
        await using var server = ServerProcess.StartWithDescriptorLimit(DescriptorLimit);
        var socks = await server.WaitForSocksEndPointAsync();
        using var admin = CreateAdminClient(await server.WaitForAdminEndPointAsync());
        var budget = (await ScrapeAsync(admin)).Require("kestrelsocks_descriptors_budget");
        Assert.InRange(budget, 100, DescriptorLimit - 1);

        // Four connections of 256 associations each ask for more than the whole budget.
        var controls = new List<SocksTestClient>();
        var succeeded = 0;
        var refused = 0;
        try
        {
            for (var c = 0; c < 4; c++)
            {
                var control = await SocksTestClient.ConnectAsync(socks, _attacker);
                controls.Add(control);
                var request = SocksTestClient.Request(Socks5Command.UdpAssociate, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Any, 0)));
                await control.SendAsync((byte[])[.. SocksTestClient.Greeting(AuthMethod.NoAuthentication), .. Enumerable.Repeat(request, 256).SelectMany(r => r)]);
                Assert.Equal(AuthMethod.NoAuthentication, await control.ReadMethodSelectionAsync());
                for (var a = 0; a < 256; a++)
                {
                    Socks5Reply reply;
                    try
                    {
                        reply = await control.ReadReplyAsync();
                    }
                    catch (EndOfStreamException)
                    {
                        // A refused first request ends its connection, after its reply.
                        Assert.True(a > 0, "The connection closed before its first request was answered.");
                        break;
                    }

                    if (reply.Reply == ReplyCode.Succeeded)
                    {
                        succeeded++;
                    }
                    else
                    {
                        Assert.Equal(ReplyCode.GeneralFailure, reply.Reply);
                        refused++;
                    }
                }
            }

            Assert.True(refused > 0, $"{succeeded} associations opened and none was refused: the budget did not bind.");
            Assert.InRange(succeeded, 1, (int)budget);

            // Up, healthy, and it counted what it refused.
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(new Uri("healthz/live", UriKind.Relative))).StatusCode);
            await AssertMetricAsync(admin, refused, "kestrelsocks_requests_refused_total", ("socks_command", "udp_associate"), ("socks_refusal_reason", "descriptor_budget"));
            await AssertMetricAsync(admin, refused, "kestrelsocks_descriptors_refused_total", ("socks_resource", "udp_association"));
            await AssertMetricAsync(admin, succeeded, "kestrelsocks_udp_associations_active");
        }
        finally
        {
            foreach (var control in controls)
            {
                await control.DisposeAsync();
            }
        }

        Assert.True(server.IsRunning, server.AllOutput);
        await AssertMetricAsync(admin, 0, "kestrelsocks_descriptors_in_use");

        // The attacker has gone: a new client is served, UDP included.
        await using var echo = EchoServer.Start();
        await using var tunnel = await SocksTestClient.OpenTunnelAsync(socks, echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(tunnel, "after the flood"u8.ToArray());
        await using var control2 = await UdpAssociationClient.ConnectControlAsync(socks);
        using var association = await UdpAssociationClient.OpenAsync(control2, IPAddress.Loopback);
        Assert.DoesNotContain("Out of memory", server.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Fatal error", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleTunnels_PastTheBudget_AreRefused_AndAClientHeldBackByItsLimitLeavesRoomForOthers()
    {
        // Two descriptors a tunnel: 700 would need more than the budget. A per-client cap of 300 keeps one
        // attacker to part of it, so a client from another address is served while the attack holds.
        await using var server = ServerProcess.StartWithDescriptorLimit(DescriptorLimit, "--KestrelSocks:Limits:MaxSessionsPerClient=300",
            "--KestrelSocks:Limits:NewSessionsPerClientPerSecond=0", "--KestrelSocks:Limits:MaxHandshakesPerClient=1024");
        var socks = await server.WaitForSocksEndPointAsync();
        using var admin = CreateAdminClient(await server.WaitForAdminEndPointAsync());
        await using var echo = EchoServer.Start();

        var tunnels = new List<SocksTestClient>();
        var opened = 0;
        var closedAtAccept = 0;
        try
        {
            for (var i = 0; i < 700; i++)
            {
                SocksTestClient client;
                try
                {
                    client = await SocksTestClient.ConnectAsync(socks, _attacker);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    // Refused at accept: the reset can overtake the client's own view of its connect.
                    closedAtAccept++;
                    continue;
                }
                catch (SocketException e)
                {
                    Assert.Fail($"Connection {i} failed ({e.SocketErrorCode}); server running: {server.IsRunning}. Output ends:{Environment.NewLine}{server.AllOutput[^Math.Min(4000, server.AllOutput.Length)..]}");
                    throw;
                }

                tunnels.Add(client);
                try
                {
                    await client.SendAsync((byte[])[.. SocksTestClient.Greeting(AuthMethod.NoAuthentication),
                        .. SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint))]);
                    Assert.Equal(AuthMethod.NoAuthentication, await client.ReadMethodSelectionAsync());
                    Assert.Equal(ReplyCode.Succeeded, (await client.ReadReplyAsync()).Reply);
                    opened++;
                }
                catch (Exception e) when (e is EndOfStreamException or SocketException)
                {
                    // Refused at accept: closed before a byte is read.
                    closedAtAccept++;
                }
            }

            Assert.Equal(300, opened);
            Assert.Equal(400, closedAtAccept);

            // Another client is served during the attack, and the attacker's tunnels still work.
            await using var other = await SocksTestClient.OpenTunnelAsync(socks, echo.EndPoint);
            await ConnectTests.AssertEchoesAsync(other, "served"u8.ToArray());
            await ConnectTests.AssertEchoesAsync(tunnels[0], "first"u8.ToArray());

            await AssertMetricAsync(admin, 400, "kestrelsocks_connections_rejected_total", ("socks_reject_reason", "client_session_limit"));
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync(new Uri("healthz/live", UriKind.Relative))).StatusCode);
        }
        finally
        {
            foreach (var tunnel in tunnels)
            {
                await tunnel.DisposeAsync();
            }
        }

        Assert.True(server.IsRunning, server.AllOutput);

        // Without the per-client cap, the budget itself is the limit: tunnels past it get REP 01 or a close, never a crash.
        await using var open = ServerProcess.StartWithDescriptorLimit(DescriptorLimit, ["--KestrelSocks:Limits:MaxSessionsPerClient=10000", .. ProxyHost.ManyClientsFromOneAddress]);
        var socks2 = await open.WaitForSocksEndPointAsync();
        using var admin2 = CreateAdminClient(await open.WaitForAdminEndPointAsync());
        var held = new List<SocksTestClient>();
        var answered = 0;
        var failed = 0;
        try
        {
            for (var i = 0; i < 700; i++)
            {
                SocksTestClient client;
                try
                {
                    client = await SocksTestClient.ConnectAsync(socks2, _attacker);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    failed++;
                    continue;
                }
                catch (SocketException e)
                {
                    Assert.Fail($"Connection {i} failed ({e.SocketErrorCode}); server running: {open.IsRunning}. Output ends:{Environment.NewLine}{open.AllOutput[^Math.Min(4000, open.AllOutput.Length)..]}");
                    throw;
                }

                held.Add(client);
                try
                {
                    await client.SendAsync((byte[])[.. SocksTestClient.Greeting(AuthMethod.NoAuthentication),
                        .. SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint))]);
                    Assert.Equal(AuthMethod.NoAuthentication, await client.ReadMethodSelectionAsync());
                    var reply = (await client.ReadReplyAsync()).Reply;
                    Assert.True(reply is ReplyCode.Succeeded or ReplyCode.GeneralFailure, $"reply {reply}");
                    if (reply == ReplyCode.Succeeded)
                    {
                        answered++;
                    }
                    else
                    {
                        failed++;
                    }
                }
                catch (Exception e) when (e is EndOfStreamException or SocketException)
                {
                    failed++;
                }
            }

            Assert.True(failed > 0, $"all {answered} tunnels opened: the budget did not bind");
            Assert.Equal(HttpStatusCode.OK, (await admin2.GetAsync(new Uri("healthz/live", UriKind.Relative))).StatusCode);
            await Eventually.AssertAsync(
                async () =>
                {
                    var metrics = await ScrapeAsync(admin2);
                    return metrics.Require("kestrelsocks_connections_rejected_total", ("socks_reject_reason", "descriptor_budget"))
                        + metrics.Require("kestrelsocks_requests_refused_total", ("socks_refusal_reason", "descriptor_budget")) == failed;
                },
                () => $"the {failed} refusals were not all counted as descriptor_budget");
        }
        finally
        {
            foreach (var client in held)
            {
                await client.DisposeAsync();
            }
        }

        Assert.True(open.IsRunning, open.AllOutput);
        // Given back, but for splice pipes the pool keeps for the next tunnels (two descriptors each, a few at most).
        var inUse = double.NaN;
        await Eventually.AssertAsync(
            async () => (inUse = (await ScrapeAsync(admin2)).Require("kestrelsocks_descriptors_in_use")) <= 16,
            () => $"{inUse} descriptors are still held after every client left");
        await using var after = await SocksTestClient.OpenTunnelAsync(socks2, echo.EndPoint);
        await ConnectTests.AssertEchoesAsync(after, "after"u8.ToArray());
    }

    private static HttpClient CreateAdminClient(IPEndPoint admin) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://{admin}/"), Timeout = TestTimeouts.Long };

    /// <summary>Scrapes until the metric reads <paramref name="expected"/>; a metric never exported fails.</summary>
    private static async Task AssertMetricAsync(HttpClient admin, double expected, string name, params (string Name, string Value)[] labels)
    {
        var last = double.NaN;
        var exported = false;
        await Eventually.AssertAsync(
            async () =>
            {
                exported = (await ScrapeAsync(admin)).TryGet(name, labels, out last);
                return exported && last == expected;
            },
            () => exported ? $"{name} is {last}, expected {expected}" : $"{name} was never exported");
    }

    private static async Task<MetricsSnapshot> ScrapeAsync(HttpClient admin) =>
        MetricsSnapshot.Parse(await admin.GetStringAsync(new Uri("metrics", UriKind.Relative)));
}
