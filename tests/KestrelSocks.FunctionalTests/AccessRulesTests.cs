using System.Net;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.FunctionalTests.Udp;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// The rule set and the egress guard through the real host. Every destination here is on loopback: the guard's other
/// ranges are proven at the policy level (EgressGuardTests), never by opening a connection to them.
/// </summary>
public sealed class AccessRulesTests
{
    private const string Denied = "kestrelsocks_access_denied_total";

    private static readonly string[] _allowLoopback =
    [
        "--KestrelSocks:Access:Rules:0:Name=lab",
        "--KestrelSocks:Access:Rules:0:Action=Allow",
        "--KestrelSocks:Access:Rules:0:Destinations:0=127.0.0.0/8",
        "--KestrelSocks:Access:Rules:0:Destinations:1=::1/128",
    ];

    private readonly ITestOutputHelper _output;

    public AccessRulesTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LocalHost")]
    public async Task ANameResolvingToLoopback_IsRefusedByDefault(string name)
    {
        await using var host = await ProxyHost.StartGuardedAsync(_output);
        await using var echo = EchoServer.Start();

        await AssertConnectRefusedAsync(host, Socks5Address.FromDomainName(name, (ushort)echo.EndPoint.Port));

        Assert.Empty(echo.AcceptedFrom);
        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "egress-guard"), ("socks_command", "connect"), ("socks_access_phase", "address"));
    }

    [Fact]
    public async Task ANameResolvingToLoopback_IsAllowedByARuleNamingLoopback()
    {
        await using var host = await ProxyHost.StartGuardedAsync(_output, _allowLoopback);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));

        var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromDomainName("localhost", (ushort)echo.EndPoint.Port));

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        await client.SendAsync("ping");
        Assert.Equal("ping"u8.ToArray(), await client.ReceiveExactlyAsync(4));
    }

    [Fact]
    public async Task AnAllowRuleWithoutDestinations_DoesNotOpenLoopback()
    {
        await using var host = await ProxyHost.StartGuardedAsync(_output,
            "--KestrelSocks:Access:Rules:0:Name=everyone", "--KestrelSocks:Access:Rules:0:Action=Allow", "--KestrelSocks:Access:Rules:0:Clients:0=0.0.0.0/0");
        await using var echo = EchoServer.Start();

        await AssertConnectRefusedAsync(host, Socks5Address.FromEndPoint(echo.EndPoint));

        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "egress-guard"));
    }

    [Theory]
    [InlineData("127.1")]
    [InlineData("2130706433")]
    [InlineData("0x7f000001")]
    [InlineData("0177.0.0.1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("[::ffff:127.0.0.1]")]
    public async Task NumericFormsOfLoopback_AreRefused(string name)
    {
        await using var host = await ProxyHost.StartGuardedAsync(_output);
        await using var echo = EchoServer.Start();

        await AssertConnectRefusedAsync(host, Socks5Address.FromDomainName(name, (ushort)echo.EndPoint.Port));

        Assert.Empty(echo.AcceptedFrom);
    }

    [Fact]
    public async Task AnIPv4MappedAddress_IsRefused()
    {
        await using var host = await ProxyHost.StartGuardedAsync(_output);
        await using var echo = EchoServer.Start();

        await AssertConnectRefusedAsync(host, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Parse("::ffff:127.0.0.1"), echo.EndPoint.Port)));

        Assert.Empty(echo.AcceptedFrom);
    }

    [Fact]
    public async Task TheProxysOwnEndPoints_AreRefused_EvenWithALoopbackAllowRule()
    {
        await using var host = await ProxyHost.StartAsync(_output, _allowLoopback);

        await AssertConnectRefusedAsync(host, Socks5Address.FromEndPoint(host.AdminEndPoint));
        await AssertConnectRefusedAsync(host, Socks5Address.FromDomainName("localhost", (ushort)host.AdminEndPoint.Port));
        await AssertConnectRefusedAsync(host, Socks5Address.FromEndPoint(host.SocksEndPoint));

        await host.AssertMetricAsync(3, Denied, ("socks_access_rule", "self"), ("socks_command", "connect"));
        Assert.Equal(HttpStatusCode.OK, (await host.GetAdminAsync("healthz/live")).StatusCode);
    }

    [Fact]
    public async Task ADomainRule_RefusesBeforeResolving_AndIsCountedByItsName()
    {
        // .invalid never resolves (RFC 6761): a resolution would answer REP 04, the rule answers REP 02 first.
        await using var host = await ProxyHost.StartAsync(_output,
            "--KestrelSocks:Access:Rules:0:Name=no-invalid", "--KestrelSocks:Access:Rules:0:Action=Deny", "--KestrelSocks:Access:Rules:0:Domains:0=.invalid");

        await AssertConnectRefusedAsync(host, Socks5Address.FromDomainName("tracker.nonexistent.invalid", 443));

        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "no-invalid"), ("socks_command", "connect"), ("socks_access_phase", "request"));
    }

    [Fact]
    public async Task Bind_RefusedByACommandRule()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Bind:Enabled=true",
            "--KestrelSocks:Access:Rules:0:Name=no-bind", "--KestrelSocks:Access:Rules:0:Action=Deny", "--KestrelSocks:Access:Rules:0:Commands:0=Bind");
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));

        var reply = await client.RequestAsync(Socks5Command.Bind, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 0)));

        Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "no-bind"), ("socks_command", "bind"), ("socks_access_phase", "request"));
    }

    [Fact]
    public async Task UdpAssociate_RefusedByACommandRule()
    {
        await using var host = await ProxyHost.StartAsync(_output,
            "--KestrelSocks:Access:Rules:0:Name=no-udp", "--KestrelSocks:Access:Rules:0:Action=Deny", "--KestrelSocks:Access:Rules:0:Commands:0=Udp");
        await using var client = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);

        var reply = await client.RequestAsync(Socks5Command.UdpAssociate, UdpAssociationClient.Unspecified);

        Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "no-udp"), ("socks_command", "udp_associate"), ("socks_access_phase", "request"));
    }

    [Fact]
    public async Task UdpDatagram_ToAGuardedAddressIsDroppedAndCounted_WhileOneToAnAllowedDestinationPasses()
    {
        await using var host = await ProxyHost.StartGuardedAsync(_output,
            "--KestrelSocks:Access:Rules:0:Name=no-blocked", "--KestrelSocks:Access:Rules:0:Action=Deny", "--KestrelSocks:Access:Rules:0:Domains:0=blocked.example",
            "--KestrelSocks:Access:Rules:1:Name=echo-only", "--KestrelSocks:Access:Rules:1:Action=Allow", "--KestrelSocks:Access:Rules:1:Destinations:0=127.0.0.1/32");
        await using var allowed = UdpEchoServer.Start(IPAddress.Loopback);
        await using var guarded = UdpEchoServer.Start(IPAddress.Parse("127.0.0.2"));
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        await association.SendAsync(guarded.EndPoint, "to the guarded one"u8);
        // Refused by name before any lookup: an unresolvable name would otherwise be dropped as dns_failure.
        await association.SendAsync(Socks5Address.FromDomainName("blocked.example", 53), "to a refused name"u8);
        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "egress-guard"), ("socks_command", "udp_associate"), ("socks_access_phase", "datagram"));
        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "no-blocked"), ("socks_access_phase", "datagram"));
        await host.AssertMetricAsync(2, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "policy"));

        await UdpDropTests.AssertOnlySentinelDeliveredAsync(association, allowed);
        Assert.Empty(guarded.Received);

        // The refusal is cached per destination, and still counted per datagram.
        await association.SendAsync(guarded.EndPoint, "again"u8);
        await host.AssertMetricAsync(2, Denied, ("socks_access_rule", "egress-guard"), ("socks_access_phase", "datagram"));
    }

    [Fact]
    public async Task EditedRules_ApplyToNewSessions_WhileAnOpenTunnelKeepsWorking()
    {
        var directory = Directory.CreateTempSubdirectory("kestrelsocks-rules-");
        var file = Path.Combine(directory.FullName, "rules.json");
        try
        {
            await File.WriteAllTextAsync(file, RulesJson("placeholder", "Deny", """ "Ports": ["1"] """));
            await using var host = await ProxyHost.StartAsync(_output, [],
                builder => builder.Configuration.AddJsonFile(file, optional: false, reloadOnChange: true));
            await using var echo = EchoServer.Start();
            await using var tunnel = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);

            await ReplaceAsync(file, RulesJson("no-loopback", "Deny", """ "Destinations": ["127.0.0.0/8"] """));

            await Eventually.AssertAsync(
                async () => await TryConnectAsync(host, echo.EndPoint) == ReplyCode.ConnectionNotAllowed,
                () => "a new CONNECT to loopback is still allowed after the rules file was edited");
            await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "no-loopback"), ("socks_command", "connect"), ("socks_access_phase", "address"));

            await tunnel.SendAsync("still here");
            Assert.Equal("still here"u8.ToArray(), await tunnel.ReceiveExactlyAsync(10));

            // The new rules are in force a moment before the line that says so is written.
            await host.Logs.AssertLoggedAsync("Access rules reloaded");

            // A broken edit keeps the rules in force and says why.
            await ReplaceAsync(file, RulesJson("no-loopback", "Deny", """ "Ports": ["70000"] """));
            await Eventually.AssertAsync(
                () => host.Logs.Entries.Any(e => e.EventId == 33 && e.Message.Contains("KestrelSocks:Access:Rules:0:Ports:0 '70000'", StringComparison.Ordinal)),
                () => "no Warning about the broken rules file");
            Assert.Equal(ReplyCode.ConnectionNotAllowed, await TryConnectAsync(host, echo.EndPoint));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Written beside and renamed over, as an editor or a config map does: never seen half written.</summary>
    [Fact]
    public async Task AGroupRule_MatchesTheAuthenticatedUsersGroups()
    {
        await using var host = await ProxyHost.StartGuardedAsync(
            _output,
            "--KestrelSocks:Authentication:AllowAnonymous=false",
            "--KestrelSocks:Authentication:UsernamePassword=true",
            "--KestrelSocks:Authentication:HashIterations=1000",
            "--KestrelSocks:Authentication:Users:0:Username=alice",
            "--KestrelSocks:Authentication:Users:0:Password=alice-pw",
            "--KestrelSocks:Authentication:Users:0:Groups:0=ops",
            "--KestrelSocks:Authentication:Users:1:Username=bob",
            "--KestrelSocks:Authentication:Users:1:Password=bob-pw",
            "--KestrelSocks:Access:Rules:0:Name=ops-loopback",
            "--KestrelSocks:Access:Rules:0:Action=Allow",
            "--KestrelSocks:Access:Rules:0:Groups:0=ops",
            "--KestrelSocks:Access:Rules:0:Destinations:0=127.0.0.0/8");
        await using var echo = EchoServer.Start();

        Assert.Equal(ReplyCode.Succeeded, await ConnectAsAsync("alice", "alice-pw"));
        Assert.Equal(ReplyCode.ConnectionNotAllowed, await ConnectAsAsync("bob", "bob-pw"));
        await host.AssertMetricAsync(1, Denied, ("socks_access_rule", "egress-guard"), ("socks_command", "connect"));

        async Task<ReplyCode> ConnectAsAsync(string user, string password)
        {
            await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
            Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
            Assert.Equal(0, await client.AuthenticateAsync(user, password));
            return (await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint))).Reply;
        }
    }

    private static async Task ReplaceAsync(string file, string content)
    {
        var temporary = file + ".tmp";
        await File.WriteAllTextAsync(temporary, content);
        File.Move(temporary, file, overwrite: true);
    }

    private static string RulesJson(string name, string action, string condition) =>
        $$"""{ "KestrelSocks": { "Access": { "Rules": [ { "Name": "{{name}}", "Action": "{{action}}", {{condition}} } ] } } }""";

    private static async Task<ReplyCode> TryConnectAsync(ProxyHost host, IPEndPoint destination)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        return (await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(destination))).Reply;
    }

    private static async Task AssertConnectRefusedAsync(ProxyHost host, Socks5Address destination)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));

        var reply = await client.RequestAsync(Socks5Command.Connect, destination);

        Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
        await client.AssertClosedWithoutReplyAsync();
    }
}
