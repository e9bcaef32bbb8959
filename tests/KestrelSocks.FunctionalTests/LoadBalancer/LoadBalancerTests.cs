using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using KestrelSocks.FunctionalTests.Infrastructure;

namespace KestrelSocks.FunctionalTests.LoadBalancer;

/// <summary>
/// Issue 13: KestrelSocks behind an L4 balancer. HAProxy sends PROXY v2 to two instances listening with
/// <c>ProxyProtocol:Listen</c> and trusting only the balancer; each instance runs a shared UDP port and advertises its
/// own routable address. Written against notes/contract-13.md (settings, metric names, the session log line).
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class LoadBalancerTests
{
    private const string Connect = "connect";

    [NetworkNamespaceFact]
    public async Task Connect_SpreadsAcrossInstances_WhichLogAndCountTheRealClient()
    {
        await using var topology = await BalancedTopology.StartAsync(proxyProtocol: true);
        const int Sessions = 6;
        var clientPorts = new List<int>();
        for (var i = 0; i < Sessions; i++)
        {
            var result = await EchoAsync(topology, $"hello {i}");
            clientPorts.Add(IPEndPoint.Parse(result.GetProperty("local").GetString()!).Port);
        }

        var logged = 0;
        foreach (var instance in BalancedTopology.Instances)
        {
            var metrics = await topology.ScrapeAsync(instance);
            var counted = metrics.Require("kestrelsocks_sessions_total", ("socks_command", Connect), ("socks_reply", "succeeded"));
            Assert.True(counted > 0, $"{instance} served no session: the balancer did not spread them.{Environment.NewLine}{topology.Describe()}");
            await Eventually.AssertAsync(() => topology.Sessions(instance).Count == (int)counted,
                () => $"{instance} counted {counted} sessions; its log should show as many:{Environment.NewLine}{topology.Describe()}");

            // The log names the real client, ip and port, as the PROXY header gave them: never the balancer.
            foreach (var session in topology.Sessions(instance))
            {
                Assert.Equal(topology.ClientAddress, session.Client);
                Assert.Equal(Connect, session.Command);
                Assert.Contains(clientPorts, port => session.Line.Contains($"from {topology.ClientAddress}:{port} ", StringComparison.Ordinal));
            }

            Assert.DoesNotContain($"from {topology.BalancerAddress}:", topology.Server(instance).AllOutput, StringComparison.Ordinal);
            Assert.True(metrics.Require("kestrelsocks_proxy_protocol_headers_total",
                ("socks_proxy_protocol_version", "2"), ("socks_proxy_protocol_command", "proxy")) >= counted);
            logged += (int)counted;
        }

        Assert.Equal(Sessions, logged);
    }

    [NetworkNamespaceFact]
    public async Task UdpAssociate_ThroughTheBalancer_RepliesWithTheInstancesAdvertisedAddress_AndDatagramsGoThereDirectly()
    {
        await using var topology = await BalancedTopology.StartAsync(proxyProtocol: true);
        var expected = BalancedTopology.Instances.Select(i => new IPEndPoint(topology.Network.AddressOf(i), BalancedTopology.UdpPort)).ToList();
        var relays = new HashSet<IPEndPoint>();
        for (var i = 0; i < BalancedTopology.Instances.Length; i++)
        {
            var result = await topology.RunClientAsync("udp", null, topology.TargetAddress.ToString(), $"{BalancedTopology.UdpEchoPort}", "5");
            Assert.True(result.GetProperty("ok").GetBoolean(), $"{result}{Environment.NewLine}{topology.Describe()}");
            var relay = IPEndPoint.Parse(result.GetProperty("relay").GetString()!);
            Assert.Contains(relay, expected);
            Assert.Equal(5, result.GetProperty("echoed").GetInt32());

            // The echoes come back from the relay the reply named, routed between the client's and the instance's namespaces.
            Assert.Equal(relay, IPEndPoint.Parse(result.GetProperty("repliedFrom").GetString()!));
            relays.Add(relay);
        }

        // Round robin: one association on each instance, each advertising its own address.
        Assert.Equal(expected.Count, relays.Count);
        foreach (var instance in BalancedTopology.Instances)
        {
            await Eventually.AssertAsync(() => topology.Sessions(instance).Any(s => s.Command == "udp_associate" && s.Client.Equals(topology.ClientAddress)),
                () => $"{instance} never logged the UDP ASSOCIATE session from {topology.ClientAddress}:{Environment.NewLine}{topology.Describe()}");
        }
    }

    [NetworkNamespaceFact]
    public async Task Drain_ReadinessFailsAtOnce_TheRunningTransferCompletes_NewSessionsGoToTheOtherInstance()
    {
        await using var topology = await BalancedTopology.StartAsync(proxyProtocol: true, "--KestrelSocks:Limits:DrainDelay=00:00:02");

        // 8 MB at 1 MB/s: about 8 s, which outlasts the SIGTERM, the balancer noticing, the sessions made after it (a
        // Python process each) and the drain delay, with room for a loaded machine; well inside DrainTimeout (30 s).
        const int Size = 8 * 1024 * 1024;
        const int Rate = 1024 * 1024;
        var transfer = topology.StartClient("bulk", null, topology.TargetAddress.ToString(), $"{BalancedTopology.BulkPort}", $"{Size}", $"{Rate}");
        await transfer.WaitForLineAsync(line => line.Contains("\"event\": \"replied\"", StringComparison.Ordinal) ||
            line.Contains("\"event\": \"done\"", StringComparison.Ordinal));
        Assert.DoesNotContain(transfer.StandardOutputLines, line => line.Contains("\"event\": \"done\"", StringComparison.Ordinal));

        // The instance carrying the transfer is the one with an active session.
        string draining = null!;
        await Eventually.AssertAsync(async () =>
            {
                foreach (var instance in BalancedTopology.Instances)
                {
                    if ((await topology.ScrapeAsync(instance)).Require("kestrelsocks_sessions_active") == 1)
                    {
                        draining = instance;
                        return true;
                    }
                }

                return false;
            },
            () => $"No instance shows the transfer's session as active:{Environment.NewLine}{topology.Describe()}");
        var other = BalancedTopology.Instances.Single(i => i != draining);
        var server = topology.Server(draining);
        Assert.Equal(0, (await topology.ScrapeAsync(draining)).Require("kestrelsocks_draining"));

        Assert.True(server.IsRunning, $"{draining} exited before SIGTERM:{Environment.NewLine}{server.AllOutput}");
        server.SendTerminate();

        // Readiness fails at once; the admin endpoint stays up and says it drains.
        await Eventually.AssertAsync(async () => (await topology.AdminGetAsync(draining, "/healthz/ready")).Status == 503,
            () => $"/healthz/ready of {draining} never answered 503 after SIGTERM:{Environment.NewLine}{server.AllOutput}");
        await Eventually.AssertAsync(async () => (await topology.ScrapeAsync(draining)).Require("kestrelsocks_draining") == 1,
            () => $"kestrelsocks_draining of {draining} never turned 1 after SIGTERM:{Environment.NewLine}{server.AllOutput}");
        Assert.Equal(200, (await topology.AdminGetAsync(draining, "/healthz/live")).Status);

        // The balancer takes it out of rotation on its next check; every session after that goes to the other one.
        await Eventually.AssertAsync(async () => (await topology.ServerStatesAsync()).GetValueOrDefault(draining, "").StartsWith("DOWN", StringComparison.Ordinal),
            () => $"HAProxy never marked {draining} down:{Environment.NewLine}{topology.Describe()}");
        var before = topology.Sessions(other).Count;
        const int NewSessions = 4;
        for (var i = 0; i < NewSessions; i++)
        {
            await EchoAsync(topology, $"after SIGTERM {i}");
        }

        Assert.True(transfer.StandardOutputLines.All(line => !line.Contains("\"event\": \"done\"", StringComparison.Ordinal)),
            "The transfer ended before the sessions after SIGTERM were made: it is too short to show a drain.");
        var metricsWhileDraining = await topology.ScrapeAsync(draining);
        Assert.Equal(1, metricsWhileDraining.Require("kestrelsocks_sessions_active"));

        // Every byte of the running transfer arrives, in order.
        var done = await BalancedTopology.FinishClientAsync(transfer);
        Assert.True(done.GetProperty("ok").GetBoolean(), $"{done}{Environment.NewLine}{topology.Describe()}");
        Assert.Equal(Size, done.GetProperty("received").GetInt32());
        Assert.Equal(ExpectedSha256(Size), done.GetProperty("sha256").GetString());

        // Then the drained instance exits by itself, cleanly, having logged the whole transfer.
        Assert.Equal(0, await server.WaitForExitAsync());
        var drained = topology.Sessions(draining);
        var bulk = Assert.Single(drained, s => s.Destination.EndsWith($":{BalancedTopology.BulkPort}", StringComparison.Ordinal));
        Assert.Contains($"{Size} bytes down", bulk.Line, StringComparison.Ordinal);
        Assert.DoesNotContain(drained, s => s.Destination.EndsWith($":{BalancedTopology.EchoPort}", StringComparison.Ordinal));

        await Eventually.AssertAsync(() => topology.Sessions(other).Count == before + NewSessions,
            () => $"{other} should have logged the {NewSessions} sessions made after SIGTERM:{Environment.NewLine}{topology.Describe()}");
        Assert.All(topology.Sessions(other).Skip(before), s => Assert.Equal(topology.ClientAddress, s.Client));
        Assert.Equal(0, (await topology.ScrapeAsync(other)).Require("kestrelsocks_draining"));
    }

    [NetworkNamespaceFact]
    public async Task UntrustedSource_BypassingTheBalancer_IsClosed_AndCounted()
    {
        await using var topology = await BalancedTopology.StartAsync(proxyProtocol: true);
        const string Instance = "p1";
        var direct = new IPEndPoint(topology.Network.AddressOf(Instance), BalancedTopology.SocksPort);

        var result = await topology.RunClientAsync("raw", direct);
        Assert.True(result.GetProperty("ok").GetBoolean(), result.ToString());
        Assert.True(result.GetProperty("closed").GetBoolean(), $"A direct connection got bytes back instead of being closed: {result}");

        // A missing series fails here: Require never reads it as 0.
        await Eventually.AssertAsync(async () => (await topology.ScrapeAsync(Instance)).Require("kestrelsocks_proxy_protocol_rejected_total",
                ("socks_proxy_protocol_reason", "untrusted")) == 1,
            () => $"{Instance} did not count the untrusted connection:{Environment.NewLine}{topology.Describe()}");
        Assert.Empty(topology.Sessions(Instance));

        // A SOCKS session through the balancer still works, and is not an untrusted one.
        await EchoAsync(topology, "through the balancer");
        foreach (var instance in BalancedTopology.Instances)
        {
            var metrics = await topology.ScrapeAsync(instance);
            Assert.Equal(instance == Instance ? 1 : 0, metrics.Sum("kestrelsocks_proxy_protocol_rejected_total", ("socks_proxy_protocol_reason", "untrusted")));
        }
    }

    private static async Task<JsonElement> EchoAsync(BalancedTopology topology, string message)
    {
        var result = await topology.RunClientAsync("echo", null, topology.TargetAddress.ToString(), $"{BalancedTopology.EchoPort}", message);
        Assert.True(result.GetProperty("ok").GetBoolean(), $"{result}{Environment.NewLine}{topology.Describe()}");
        Assert.Equal(message, result.GetProperty("echoed").GetString());
        return result;
    }

    private static string ExpectedSha256(int size)
    {
        var data = new byte[size];
        for (var i = 0; i < size; i++)
        {
            data[i] = (byte)(i % 251);
        }

        return Convert.ToHexStringLower(SHA256.HashData(data));
    }
}
