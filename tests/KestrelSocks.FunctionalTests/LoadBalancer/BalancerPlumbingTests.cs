using System.Net;
using KestrelSocks.FunctionalTests.Infrastructure;

namespace KestrelSocks.FunctionalTests.LoadBalancer;

/// <summary>
/// The load-balancer topology without the PROXY protocol: HAProxy in TCP mode in front of plain <c>Listen</c>
/// listeners. It proves the namespaces, routes, HAProxy and its health checks; and it shows why the PROXY protocol is
/// needed: every session is logged as coming from the balancer.
/// </summary>
[Collection(RunsAloneCollection.Name)]
public sealed class BalancerPlumbingTests
{
    [NetworkNamespaceFact]
    public async Task HaproxyWithoutProxyProtocol_SpreadsSessions_AndTheInstancesSeeTheBalancerAsClient()
    {
        await using var topology = await BalancedTopology.StartAsync(proxyProtocol: false);
        const int Sessions = 4;
        for (var i = 0; i < Sessions; i++)
        {
            var result = await topology.RunClientAsync("echo", null, topology.TargetAddress.ToString(), $"{BalancedTopology.EchoPort}", $"hello {i}");
            Assert.True(result.GetProperty("ok").GetBoolean(), $"{result}{Environment.NewLine}{topology.Describe()}");
        }

        foreach (var instance in BalancedTopology.Instances)
        {
            await Eventually.AssertAsync(() => topology.Sessions(instance).Count == Sessions / 2,
                () => $"{instance} should have logged {Sessions / 2} sessions (round robin):{Environment.NewLine}{topology.Describe()}");
            Assert.All(topology.Sessions(instance), session => Assert.Equal(topology.BalancerAddress, session.Client));
            var metrics = await topology.ScrapeAsync(instance);
            Assert.Equal(Sessions / 2, metrics.Require("kestrelsocks_sessions_total", ("socks_command", "connect"), ("socks_reply", "succeeded")));
        }

        // Routed, not only balanced: the client reaches an instance directly.
        var direct = await topology.RunClientAsync("echo", new IPEndPoint(topology.Network.AddressOf("p1"), BalancedTopology.SocksPort),
            topology.TargetAddress.ToString(), $"{BalancedTopology.EchoPort}", "direct");
        Assert.True(direct.GetProperty("ok").GetBoolean(), direct.ToString());
        await Eventually.AssertAsync(() => topology.Sessions("p1").Any(session => session.Client.Equals(topology.ClientAddress)),
            () => $"p1 never logged a session from {topology.ClientAddress}:{Environment.NewLine}{topology.Describe()}");
    }
}
