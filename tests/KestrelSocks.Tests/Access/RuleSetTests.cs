using System.Net;
using System.Text;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Access;

public sealed class RuleSetTests
{
    private static readonly IPAddress _public = IPAddress.Parse("192.0.2.10");

    [Fact]
    public void NoRules_AllowsPublicAddresses_AndTheGuardRefusesLoopback()
    {
        var rules = TestAccess.Rules(new AccessOptions());

        Assert.Equal(AccessVerdict.Allow("default"), Evaluate(rules, Connect(), _public));
        Assert.Equal(AccessVerdict.Allow("default"), Evaluate(rules, Connect(), IPAddress.Parse("2001:db8::1")));
        Assert.Equal(AccessVerdict.Deny("egress-guard"), Evaluate(rules, Connect(), IPAddress.Loopback));
        Assert.Equal(AccessVerdict.Deny("egress-guard"), Evaluate(rules, Connect(), IPAddress.IPv6Loopback));
    }

    [Fact]
    public void GuardOff_AllowsLoopback_ButNeverTheUnspecifiedAddress()
    {
        var rules = TestAccess.Rules(new AccessOptions { EgressGuard = false });

        Assert.True(Evaluate(rules, Connect(), IPAddress.Loopback).IsAllowed);
        Assert.True(Evaluate(rules, Connect(), IPAddress.Parse("10.1.2.3")).IsAllowed);
        Assert.Equal(AccessVerdict.Deny("self"), Evaluate(rules, Connect(), IPAddress.Any));
        Assert.Equal(AccessVerdict.Deny("self"), Evaluate(rules, Connect(), IPAddress.IPv6Any));
        Assert.Equal(AccessVerdict.Deny("self"), Evaluate(rules, Connect(), IPAddress.Parse("::ffff:0.0.0.0")));
    }

    [Fact]
    public void DefaultDeny_RefusesWhatNoRuleAllows()
    {
        var rules = TestAccess.Rules(new AccessOptions
        {
            DefaultAction = "Deny",
            Rules = [new() { Name = "web", Action = "Allow", Ports = ["443"] }],
        });

        Assert.Equal(AccessVerdict.Allow("web"), Evaluate(rules, Connect(port: 443), _public));
        Assert.Equal(AccessVerdict.Deny("default"), Evaluate(rules, Connect(port: 80), _public));
        Assert.Equal(AccessVerdict.Deny("default"), rules.EvaluateRequest(Connect(port: 80)));
    }

    [Fact]
    public void FirstMatchWins()
    {
        var rules = TestAccess.Rules(
            new AccessRuleOptions { Name = "first", Action = "Deny", Destinations = ["192.0.2.0/28"] },
            new AccessRuleOptions { Name = "second", Action = "Allow", Destinations = ["192.0.2.0/24"] },
            new AccessRuleOptions { Name = "third", Action = "Deny", Destinations = ["192.0.0.0/16"] });

        Assert.Equal(AccessVerdict.Deny("first"), Evaluate(rules, Connect(), IPAddress.Parse("192.0.2.15")));
        Assert.Equal(AccessVerdict.Allow("second"), Evaluate(rules, Connect(), IPAddress.Parse("192.0.2.16")));
        Assert.Equal(AccessVerdict.Deny("third"), Evaluate(rules, Connect(), IPAddress.Parse("192.0.3.1")));
        Assert.Equal(AccessVerdict.Allow("default"), Evaluate(rules, Connect(), IPAddress.Parse("198.51.100.1")));
    }

    [Theory]
    [InlineData("198.51.100.7", true)]
    [InlineData("198.51.100.255", true)]
    [InlineData("198.51.101.0", false)]
    [InlineData("::ffff:198.51.100.7", true)]
    [InlineData("2001:db8::7", false)]
    public void Clients_MatchTheClientsNetwork(string client, bool denied)
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "lab", Action = "Deny", Clients = ["198.51.100.0/24"] });
        var request = Connect(client: IPAddress.Parse(client));

        Assert.Equal(!denied, rules.EvaluateRequest(request).IsAllowed);
        Assert.Equal(!denied, Evaluate(rules, request, _public).IsAllowed);
    }

    [Fact]
    public void Clients_AnUnknownClientMatchesNoNetwork()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "all", Action = "Deny", Clients = ["0.0.0.0/0", "::/0"] });

        Assert.True(rules.EvaluateRequest(new AccessRequest(AccessCommand.Connect, (IPAddress?)null, null, [])).IsAllowed);
        Assert.False(rules.EvaluateRequest(Connect(client: IPAddress.Parse("203.0.113.1"))).IsAllowed);
    }

    [Fact]
    public void Users_AreCaseSensitive_AndAnonymousMatchesNone()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "no-bob", Action = "Deny", Users = ["bob", "carol"] });

        Assert.False(rules.EvaluateRequest(Connect(user: "bob")).IsAllowed);
        Assert.False(rules.EvaluateRequest(Connect(user: "carol")).IsAllowed);
        Assert.True(rules.EvaluateRequest(Connect(user: "Bob")).IsAllowed);
        Assert.True(rules.EvaluateRequest(Connect(user: null)).IsAllowed);
    }

    [Fact]
    public void Groups_MatchAnyGroupOfTheUser()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "staff", Action = "Deny", Groups = ["staff"] });

        Assert.False(rules.EvaluateRequest(Connect(user: "bob", groups: ["users", "staff"])).IsAllowed);
        Assert.True(rules.EvaluateRequest(Connect(user: "bob", groups: ["users"])).IsAllowed);
        Assert.True(rules.EvaluateRequest(Connect(user: "bob")).IsAllowed);
    }

    [Fact]
    public void Commands_MatchOnlyTheirCommands()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "no-bind-udp", Action = "Deny", Commands = ["bind", "Udp"] });

        Assert.True(rules.EvaluateRequest(Connect()).IsAllowed);
        Assert.False(rules.EvaluateRequest(new AccessRequest(AccessCommand.Bind, _public, null, [])).IsAllowed);
        Assert.False(rules.EvaluateRequest(new AccessRequest(AccessCommand.Udp, _public, null, []).WithDestinationsLater()).IsAllowed);
    }

    [Theory]
    [InlineData(79, false)]
    [InlineData(80, true)]
    [InlineData(443, true)]
    [InlineData(7999, false)]
    [InlineData(8000, true)]
    [InlineData(8999, true)]
    [InlineData(9000, false)]
    public void Ports_MatchSinglePortsAndRanges(int port, bool denied)
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "web", Action = "Deny", Ports = ["80", "443", "8000-8999"] });

        Assert.Equal(!denied, rules.EvaluateRequest(Connect(port: port)).IsAllowed);
        Assert.Equal(!denied, Evaluate(rules, Connect(port: port), _public).IsAllowed);
    }

    [Theory]
    [InlineData("example.com", "example.com", true)]
    [InlineData("example.com", "EXAMPLE.com.", true)]
    [InlineData("example.com", "www.example.com", false)]
    [InlineData("example.com.", "example.com", true)]
    [InlineData(".example.com", "example.com", true)]
    [InlineData(".example.com", "a.b.example.com", true)]
    [InlineData(".example.com", "badexample.com", false)]
    [InlineData(".example.com", "example.com.evil", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "www.Example.COM", true)]
    [InlineData("*.example.com", "xexample.com", false)]
    [InlineData("*", "anything.at.all", true)]
    public void Domains_MatchExactSuffixAndWildcardPatterns(string pattern, string name, bool denied)
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "names", Action = "Deny", Domains = [pattern] });
        var request = Connect(domain: name);

        Assert.Equal(!denied, rules.EvaluateRequest(request).IsAllowed);
        Assert.Equal(!denied, Evaluate(rules, request, _public).IsAllowed);
    }

    [Fact]
    public void Domains_AnAddressDestinationMatchesNoPattern()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "names", Action = "Deny", Domains = ["*"] });

        Assert.True(rules.EvaluateRequest(Connect()).IsAllowed);
        Assert.True(Evaluate(rules, Connect(), _public).IsAllowed);
        Assert.False(rules.EvaluateRequest(Connect(domain: "a.example")).IsAllowed);
    }

    [Fact]
    public void RequestPhase_RefusesADeniedNameBeforeResolving()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "tracker", Action = "Deny", Domains = [".tracker.example"] });

        Assert.Equal(AccessVerdict.Deny("tracker"), rules.EvaluateRequest(Connect(domain: "ads.tracker.example")));
        Assert.True(rules.EvaluateRequest(Connect(domain: "news.example")).IsAllowed);
    }

    [Fact]
    public void RequestPhase_WaitsForTheAddress_WhenAnEarlierAllowNamesDestinations()
    {
        // Deny everything but the lab network: the name cannot be refused before it is known where it leads.
        var rules = TestAccess.Rules(
            new AccessRuleOptions { Name = "lab", Action = "Allow", Destinations = ["198.51.100.0/24"] },
            new AccessRuleOptions { Name = "rest", Action = "Deny" });

        Assert.True(rules.EvaluateRequest(Connect(domain: "lab.example")).IsAllowed);
        Assert.Equal(AccessVerdict.Allow("lab"), Evaluate(rules, Connect(domain: "lab.example"), IPAddress.Parse("198.51.100.9")));
        Assert.Equal(AccessVerdict.Deny("rest"), Evaluate(rules, Connect(domain: "lab.example"), _public));
    }

    [Fact]
    public void RequestPhase_RefusesAtOnce_WhenOnlyDenyRulesWaitForTheAddress()
    {
        var rules = TestAccess.Rules(
            new AccessRuleOptions { Name = "no-private", Action = "Deny", Destinations = ["198.51.100.0/24"] },
            new AccessRuleOptions { Name = "rest", Action = "Deny" });

        Assert.Equal(AccessVerdict.Deny("rest"), rules.EvaluateRequest(Connect(domain: "anything.example")));
    }

    [Fact]
    public void AddressPhase_ChecksEveryAddress_SoANameCannotRebindPastARule()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "deny-lab", Action = "Deny", Destinations = ["198.51.100.0/24"] });
        var request = Connect(domain: "innocent.example");

        Assert.True(rules.EvaluateRequest(request).IsAllowed);
        Assert.True(Evaluate(rules, request, _public).IsAllowed);
        Assert.Equal(AccessVerdict.Deny("deny-lab"), Evaluate(rules, request, IPAddress.Parse("198.51.100.1")));
        Assert.Equal(AccessVerdict.Deny("egress-guard"), Evaluate(rules, request, IPAddress.Parse("127.0.0.1")));
    }

    [Fact]
    public void Bind_NoRuleWithADestinationMatchesIt()
    {
        var rules = TestAccess.Rules(
            new AccessRuleOptions { Name = "web-only", Action = "Allow", Ports = ["443"] },
            new AccessRuleOptions { Name = "rest", Action = "Deny" });

        Assert.Equal(AccessVerdict.Deny("rest"), rules.EvaluateRequest(new AccessRequest(AccessCommand.Bind, _public, null, [])));
    }

    [Fact]
    public void UdpAssociation_IsRefusedAtOnce_OnlyWhenNoDatagramCouldBeAllowed()
    {
        var dnsOnly = TestAccess.Rules(
            new AccessRuleOptions { Name = "dns", Action = "Allow", Commands = ["Udp"], Ports = ["53"] },
            new AccessRuleOptions { Name = "no-udp", Action = "Deny", Commands = ["Udp"] });
        var noUdp = TestAccess.Rules(new AccessRuleOptions { Name = "no-udp", Action = "Deny", Commands = ["Udp"] });
        var association = new AccessRequest(AccessCommand.Udp, _public, null, []).WithDestinationsLater();

        Assert.True(dnsOnly.EvaluateRequest(association).IsAllowed);
        Assert.Equal(AccessVerdict.Deny("no-udp"), noUdp.EvaluateRequest(association));
        Assert.Equal(AccessVerdict.Allow("dns"), Evaluate(dnsOnly, association.WithDestination(default, 53), _public));
        Assert.Equal(AccessVerdict.Deny("no-udp"), Evaluate(dnsOnly, association.WithDestination(default, 123), _public));
    }

    [Theory]
    [InlineData("127.0.0.0/8", "127.0.0.1", true)]
    [InlineData("127.0.0.1/32", "127.0.0.1", true)]
    [InlineData("127.0.0.1/32", "127.0.0.2", false)]
    [InlineData("0.0.0.0/0", "127.0.0.1", false)]
    [InlineData("96.0.0.0/3", "127.0.0.1", false)]
    [InlineData("10.0.0.0/8", "10.20.30.40", true)]
    [InlineData("10.1.0.0/16", "10.1.2.3", true)]
    [InlineData("8.0.0.0/6", "10.1.2.3", false)]
    [InlineData("169.254.169.254/32", "169.254.169.254", true)]
    [InlineData("::/0", "::1", false)]
    [InlineData("::1/128", "::1", true)]
    [InlineData("fc00::/7", "fd12::1", true)]
    [InlineData("fd00::/8", "fd12::1", true)]
    [InlineData("::/0", "fd12::1", false)]
    [InlineData("127.0.0.0/8", "::ffff:127.0.0.1", true)]
    [InlineData("64:ff9b::7f00:0/104", "64:ff9b::127.0.0.1", true)]
    [InlineData("64:ff9b::/96", "64:ff9b::127.0.0.1", false)]
    [InlineData("2002::/16", "2002:7f00:1::1", false)]
    public void AnAllowRuleOpensAGuardedAddress_OnlyWithANetworkInsideTheGuardedBlock(string network, string address, bool opened)
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "lab", Action = "Allow", Destinations = [network] });

        var verdict = Evaluate(rules, Connect(), IPAddress.Parse(address));

        Assert.Equal(opened ? AccessVerdict.Allow("lab") : AccessVerdict.Deny("egress-guard"), verdict);
    }

    [Fact]
    public void AnAllowRuleWithoutDestinations_OpensNothingGuarded()
    {
        var rules = TestAccess.Rules(new AccessRuleOptions { Name = "everyone", Action = "Allow", Clients = ["0.0.0.0/0", "::/0"] });

        Assert.Equal(AccessVerdict.Deny("egress-guard"), Evaluate(rules, Connect(), IPAddress.Loopback));
        Assert.Equal(AccessVerdict.Allow("everyone"), Evaluate(rules, Connect(), _public));
    }

    [Fact]
    public void SelfEndPoints_AreRefusedEvenWhenARuleOpensLoopback()
    {
        var self = SelfEndPoints.Create([new IPEndPoint(IPAddress.Loopback, 9464)]);
        var options = new AccessOptions { Rules = [new() { Name = "loopback", Action = "Allow", Destinations = ["127.0.0.0/8"] }] };
        var rules = TestAccess.Rules(options, self);

        Assert.Equal(AccessVerdict.Deny("self"), Evaluate(rules, Connect(port: 9464), IPAddress.Loopback));
        Assert.Equal(AccessVerdict.Allow("loopback"), Evaluate(rules, Connect(port: 9465), IPAddress.Loopback));
        Assert.Equal(AccessVerdict.Deny("self"), Evaluate(rules.WithSelf(self), Connect(port: 9464), IPAddress.Parse("::ffff:127.0.0.1")));
    }

    [Theory]
    [InlineData("10.0.0.0", false)]
    [InlineData("10.255.255.255", false)]
    [InlineData("192.0.2.1", false)]
    [InlineData("11.0.0.0", true)]
    [InlineData("9.255.255.255", true)]
    [InlineData("192.0.2.2", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("::ffff:10.1.2.3", false)]
    [InlineData("::ffff:11.1.2.3", true)]
    public void AllowedDestinations_RefusesEverythingElse_UnderItsOwnName(string address, bool refused)
    {
        var rules = TestAccess.Rules(new AccessOptions { EgressGuard = false, AllowedDestinations = ["10.0.0.0/8", "192.0.2.1/32"] });

        var verdict = Evaluate(rules, Connect(), IPAddress.Parse(address));

        Assert.Equal(refused ? AccessVerdict.Deny("allowed-destinations") : AccessVerdict.Allow("default"), verdict);
    }

    [Theory]
    [InlineData("10.2.0.1", true)]
    [InlineData("10.1.0.1", false)]
    [InlineData("2001:db8::1", true)]
    [InlineData("2001:db8:bad::1", false)]
    [InlineData("::ffff:10.1.0.1", false)]
    public void DeniedDestinations_WinInsideTheAllowedOnes_AndComeBeforeEveryRule(string address, bool allowed)
    {
        var rules = TestAccess.Rules(new AccessOptions
        {
            EgressGuard = false,
            AllowedDestinations = ["10.0.0.0/8", "2001:db8::/32"],
            DeniedDestinations = ["10.1.0.0/16", "2001:db8:bad::/48"],
            Rules = [new() { Name = "all", Action = "Allow", Destinations = ["0.0.0.0/0", "::/0"] }],
        });

        var verdict = Evaluate(rules, Connect(), IPAddress.Parse(address));

        Assert.Equal(allowed ? AccessVerdict.Allow("all") : AccessVerdict.Deny("denied-destinations"), verdict);
    }

    [Fact]
    public void AllowedDestinations_OpensNothingTheGuardRefuses()
    {
        var rules = TestAccess.Rules(new AccessOptions { AllowedDestinations = ["10.0.0.0/8"] });

        Assert.Equal(AccessVerdict.Deny("egress-guard"), Evaluate(rules, Connect(), IPAddress.Parse("10.1.2.3")));
    }

    [Fact]
    public void IPv6Networks_NeverCoverIPv4Destinations()
    {
        // A connect to ::ffff:a.b.c.d leaves over IPv4: an IPv6 rule must not decide it.
        var rules = TestAccess.Rules(new AccessOptions
        {
            EgressGuard = false,
            Rules = [new() { Name = "v6", Action = "Deny", Destinations = ["::/0"] }],
        });

        Assert.False(Evaluate(rules, Connect(), IPAddress.Parse("2001:db8::1")).IsAllowed);
        Assert.True(Evaluate(rules, Connect(), IPAddress.Parse("::ffff:192.0.2.1")).IsAllowed);
        Assert.True(Evaluate(rules, Connect(), IPAddress.Parse("192.0.2.1")).IsAllowed);
    }

    [Fact]
    public void DependsOnDomain_OnlyWhenARuleNamesDomains()
    {
        Assert.False(TestAccess.Rules(new AccessRuleOptions { Name = "a", Action = "Deny", Ports = ["1"] }).DependsOnDomain);
        Assert.True(TestAccess.Rules(new AccessRuleOptions { Name = "a", Action = "Deny", Domains = ["a.example"] }).DependsOnDomain);
    }

    private static AccessVerdict Evaluate(RuleSet rules, AccessRequest request, IPAddress address) => rules.EvaluateAddress(request, address);

    private static AccessRequest Connect(IPAddress? client = null, string? user = null, string[]? groups = null, string? domain = null, int port = 443) =>
        new AccessRequest(AccessCommand.Connect, client ?? IPAddress.Parse("203.0.113.50"), user, groups ?? [])
            .WithDestination(domain is null ? default : Encoding.ASCII.GetBytes(domain), port);
}
