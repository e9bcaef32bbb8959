using KestrelSocks.Configuration;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Tests.Configuration;

public sealed class KestrelSocksOptionsValidatorTests
{
    private const string Secret = "TOPSECRET-do-not-print";

    public static TheoryData<string, string> BadSettings => new()
    {
        { "listen-hostname", "KestrelSocks:Listen:0" },
        { "listen-second-bare-ipv6", "KestrelSocks:Listen:1" },
        { "admin-listen-no-port", "KestrelSocks:Admin:Listen:0" },
        { "no-auth-method", "KestrelSocks:Authentication:AllowAnonymous" },
        { "username-password-without-users", "KestrelSocks:Authentication:Users" },
        { "username-too-long", "KestrelSocks:Authentication:Users:0:Username" },
        { "password-too-long", "KestrelSocks:Authentication:Users:0:Password" },
        { "password-too-long-in-utf8", "KestrelSocks:Authentication:Users:1:Password" },
        { "duplicate-username", "KestrelSocks:Authentication:Users:1:Username" },
        { "handshake-timeout-zero", "KestrelSocks:Limits:HandshakeTimeout" },
        { "handshake-timeout-negative", "KestrelSocks:Limits:HandshakeTimeout" },
        { "connect-timeout-zero", "KestrelSocks:Limits:ConnectTimeout" },
        { "idle-timeout-zero", "KestrelSocks:Limits:IdleTimeout" },
        { "drain-timeout-zero", "KestrelSocks:Limits:DrainTimeout" },
        { "max-sessions-zero", "KestrelSocks:Limits:MaxConcurrentSessions" },
        { "max-sessions-negative", "KestrelSocks:Limits:MaxConcurrentSessions" },
        { "recent-login-ttl-negative", "KestrelSocks:Authentication:RecentLoginTtl" },
        { "max-handshakes-zero", "KestrelSocks:Limits:MaxHandshakes" },
        { "max-handshakes-per-client-zero", "KestrelSocks:Limits:MaxHandshakesPerClient" },
        { "max-sessions-per-client-zero", "KestrelSocks:Limits:MaxSessionsPerClient" },
        { "new-sessions-rate-negative", "KestrelSocks:Limits:NewSessionsPerClientPerSecond" },
        { "new-sessions-burst-negative", "KestrelSocks:Limits:NewSessionsPerClientBurst" },
        { "max-descriptors-negative", "KestrelSocks:Limits:MaxDescriptors" },
        { "reserved-descriptors-below-default", "KestrelSocks:Limits:ReservedDescriptors" },
        { "reserved-descriptors-not-below-max", "KestrelSocks:Limits:ReservedDescriptors" },
        { "udp-max-associations-per-client-zero", "KestrelSocks:Udp:MaxAssociationsPerClient" },
        { "udp-max-associations-negative", "KestrelSocks:Udp:MaxAssociations" },
        { "public-listener-without-users", "KestrelSocks:Authentication:AllowAnonymous" },
        { "happy-eyeballs-too-short", "KestrelSocks:Connect:HappyEyeballsDelay" },
        { "happy-eyeballs-too-long", "KestrelSocks:Connect:HappyEyeballsDelay" },
        { "allowed-prefix-too-long", "KestrelSocks:Access:AllowedDestinations:0" },
        { "allowed-without-prefix", "KestrelSocks:Access:AllowedDestinations:0" },
        { "allowed-not-cidr", "KestrelSocks:Access:AllowedDestinations:1" },
        { "denied-not-cidr", "KestrelSocks:Access:DeniedDestinations:0" },
        { "network-with-host-bits", "KestrelSocks:Access:AllowedDestinations:0" },
        { "default-action-unknown", "KestrelSocks:Access:DefaultAction" },
        { "rule-without-name", "KestrelSocks:Access:Rules:0:Name" },
        { "rule-name-reserved", "KestrelSocks:Access:Rules:0:Name" },
        { "rule-name-duplicate", "KestrelSocks:Access:Rules:1:Name" },
        { "rule-name-with-spaces", "KestrelSocks:Access:Rules:0:Name" },
        { "rule-action-missing", "KestrelSocks:Access:Rules:0:Action" },
        { "rule-client-not-cidr", "KestrelSocks:Access:Rules:0:Clients:1" },
        { "rule-destination-host-bits", "KestrelSocks:Access:Rules:0:Destinations:0" },
        { "rule-command-unknown", "KestrelSocks:Access:Rules:0:Commands:0" },
        { "rule-domain-inner-wildcard", "KestrelSocks:Access:Rules:0:Domains:0" },
        { "rule-domain-not-ascii", "KestrelSocks:Access:Rules:0:Domains:0" },
        { "rule-port-too-large", "KestrelSocks:Access:Rules:3:Ports:0" },
        { "rule-port-range-reversed", "KestrelSocks:Access:Rules:0:Ports:1" },
        { "rule-user-empty", "KestrelSocks:Access:Rules:0:Users:0" },
        { "rule-bind-with-destination", "KestrelSocks:Access:Rules:0" },
        { "backlog-zero", "KestrelSocks:Transport:Backlog" },
        { "receive-buffer-too-small", "KestrelSocks:Transport:ReceiveBufferSize" },
        { "receive-buffer-too-large", "KestrelSocks:Transport:ReceiveBufferSize" },
        { "max-buffered-below-receive-buffer", "KestrelSocks:Transport:MaxBufferedBytes" },
        { "udp-engine-unknown", "KestrelSocks:Udp:Engine" },
        { "udp-mode-unknown", "KestrelSocks:Udp:Mode" },
        { "udp-shared-port-negative", "KestrelSocks:Udp:SharedPort" },
        { "udp-shared-port-too-large", "KestrelSocks:Udp:SharedPort" },
        { "udp-shared-port-without-shared-mode", "KestrelSocks:Udp:SharedPort" },
        { "udp-shared-mode-on-portable-engine", "KestrelSocks:Udp:Mode" },
        { "udp-event-loop-threads-negative", "KestrelSocks:Udp:EventLoopThreads" },
        { "udp-event-loop-threads-too-many", "KestrelSocks:Udp:EventLoopThreads" },
        { "udp-max-queue-delay-too-short", "KestrelSocks:Udp:MaxQueueDelay" },
        { "udp-max-queue-delay-too-long", "KestrelSocks:Udp:MaxQueueDelay" },
        { "drain-delay-negative", "KestrelSocks:Limits:DrainDelay" },
        { "proxy-listen-bad", "KestrelSocks:ProxyProtocol:Listen:0" },
        { "proxy-listen-also-plain", "KestrelSocks:ProxyProtocol:Listen:0" },
        { "proxy-without-trusted-networks", "KestrelSocks:ProxyProtocol:TrustedNetworks" },
        { "proxy-trusted-network-bad", "KestrelSocks:ProxyProtocol:TrustedNetworks:1" },
        { "proxy-trusted-network-scoped", "KestrelSocks:ProxyProtocol:TrustedNetworks:0" },
        { "proxy-trusted-without-listen", "KestrelSocks:ProxyProtocol:TrustedNetworks" },
        { "proxy-header-timeout-zero", "KestrelSocks:ProxyProtocol:HeaderTimeout" },
        { "udp-shared-receive-buffer-too-small", "KestrelSocks:Udp:SharedSocketReceiveBufferSize" },
        { "udp-shared-receive-buffer-too-large", "KestrelSocks:Udp:SharedSocketReceiveBufferSize" },
    };

    public static TheoryData<string> GoodSettings =>
    [
        "admin-disabled-with-bad-listen",
        "boundaries",
        "255-byte-credentials",
        "username-password-only",
        "ipv6-listeners-and-networks",
        "rules",
        "proxy-protocol",
    ];

    [Theory]
    [InlineData(new[] { "127.0.0.1:1080" }, null, true)]
    [InlineData(new[] { "127.0.0.1:1080", "[::1]:1080" }, null, true)]
    [InlineData(new[] { "127.0.0.1:1080", "0.0.0.0:1080" }, null, false)]
    [InlineData(new[] { "[::]:1080" }, null, false)]
    [InlineData(new[] { "192.0.2.10:1080" }, null, false)]
    [InlineData(new[] { "0.0.0.0:1080" }, true, true)]
    [InlineData(new[] { "127.0.0.1:1080" }, false, false)]
    public void AnonymousAccessAndBind_DefaultToOnOnlyWhenEveryListenerIsLoopback(string[] listen, bool? configured, bool expected)
    {
        var options = new KestrelSocksOptions { Listen = listen };
        options.Authentication.AllowAnonymous = configured;
        options.Bind.Enabled = configured;

        Assert.Equal(expected, options.EffectiveAllowAnonymous);
        Assert.Equal(expected, options.EffectiveBindEnabled);
    }

    [Fact]
    public void ProxyProtocolListeners_CountAsExposed_AndReplaceTheDefaultListener()
    {
        var options = new KestrelSocksOptions();
        options.ProxyProtocol.Listen = ["127.0.0.1:1081"];

        // Its clients are wherever the balancer's are, whatever address the balancer reaches it on.
        Assert.False(options.ListensOnLoopbackOnly);
        Assert.False(options.EffectiveAllowAnonymous);
        Assert.Empty(options.EffectiveListen);

        options.ProxyProtocol.Listen = [];
        Assert.Equal([KestrelSocksOptions.DefaultListen], options.EffectiveListen);
    }

    [Fact]
    public void Defaults_Validate()
    {
        var result = Validate(new KestrelSocksOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
        Assert.Null(result.Failures);
    }

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void BadSetting_IsReportedOnceWithItsFullKey(string setting, string key)
    {
        var options = new KestrelSocksOptions();
        Apply(setting, options);

        var result = Validate(options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains(key, failure, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(GoodSettings))]
    public void GoodSetting_Validates(string setting)
    {
        var options = new KestrelSocksOptions();
        Apply(setting, options);

        var result = Validate(options);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void SeveralBadSettings_AreAllReportedAtOnce()
    {
        var options = new KestrelSocksOptions();
        Apply("listen-hostname", options);
        Apply("username-password-without-users", options);
        Apply("handshake-timeout-zero", options);
        Apply("happy-eyeballs-too-long", options);
        Apply("denied-not-cidr", options);
        Apply("backlog-zero", options);

        var result = Validate(options);

        Assert.True(result.Failed);
        var failures = result.Failures!.ToList();
        Assert.Equal(6, failures.Count);
        string[] keys =
        [
            "KestrelSocks:Listen:0",
            "KestrelSocks:Authentication:Users",
            "KestrelSocks:Limits:HandshakeTimeout",
            "KestrelSocks:Connect:HappyEyeballsDelay",
            "KestrelSocks:Access:DeniedDestinations:0",
            "KestrelSocks:Transport:Backlog",
        ];
        foreach (var key in keys)
        {
            Assert.Contains(failures, failure => failure.Contains(key, StringComparison.Ordinal));
            Assert.Contains(key, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void BadPort_TheMessageNamesTheSettingAndTheValue()
    {
        var options = new KestrelSocksOptions();
        Apply("rule-port-too-large", options);

        var failure = Assert.Single(Validate(options).Failures!);

        Assert.StartsWith("KestrelSocks:Access:Rules:3:Ports:0 '70000' is not a port or port range", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateRuleName_NamesTheFirstRule()
    {
        var options = new KestrelSocksOptions();
        Apply("rule-name-duplicate", options);

        var failure = Assert.Single(Validate(options).Failures!);

        Assert.Contains("'WEB' is also the name of KestrelSocks:Access:Rules:0", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void ReceiveBufferOverMaxBuffered_ReportsBothKeys()
    {
        var options = new KestrelSocksOptions();
        options.Transport.ReceiveBufferSize = (1024 * 1024) + 1;

        var failures = Validate(options).Failures!.ToList();

        Assert.Equal(2, failures.Count);
        Assert.Contains(failures, failure => failure.StartsWith("KestrelSocks:Transport:ReceiveBufferSize", StringComparison.Ordinal));
        Assert.Contains(failures, failure => failure.StartsWith("KestrelSocks:Transport:MaxBufferedBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void TooLongPassword_IsNotEchoed()
    {
        var options = new KestrelSocksOptions();
        options.Authentication.UsernamePassword = true;
        var password = Secret + new string('x', 256);
        options.Authentication.Users.Add(new SocksUser { Username = "alice", Password = password });

        var result = Validate(options);

        var failure = Assert.Single(result.Failures!);
        Assert.Contains("KestrelSocks:Authentication:Users:0:Password", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxxxxxx", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void OtherUserErrors_DoNotEchoPasswords()
    {
        var options = new KestrelSocksOptions();
        options.Authentication.UsernamePassword = true;
        options.Authentication.Users.Add(new SocksUser { Username = "alice", Password = Secret });
        options.Authentication.Users.Add(new SocksUser { Username = "alice", Password = Secret });
        options.Authentication.Users.Add(new SocksUser { Username = new string('u', 256), Password = Secret });

        var result = Validate(options);

        Assert.Equal(2, result.Failures!.Count());
        Assert.DoesNotContain(Secret, result.FailureMessage, StringComparison.Ordinal);
    }

    private static ValidateOptionsResult Validate(KestrelSocksOptions options) =>
        new KestrelSocksOptionsValidator().Validate(Options.DefaultName, options);

    private static void Apply(string setting, KestrelSocksOptions options)
    {
        var authentication = options.Authentication;
        var limits = options.Limits;
        var transport = options.Transport;
        switch (setting)
        {
            case "listen-hostname":
                options.Listen = ["localhost:1080"];
                break;
            case "listen-second-bare-ipv6":
                options.Listen = ["127.0.0.1:1080", "::1"];
                break;
            case "admin-listen-no-port":
                options.Admin.Listen = ["127.0.0.1"];
                break;
            case "no-auth-method":
                authentication.AllowAnonymous = false;
                authentication.UsernamePassword = false;
                break;
            case "username-password-without-users":
                authentication.UsernamePassword = true;
                break;
            case "username-too-long":
                authentication.Users.Add(new SocksUser { Username = new string('u', 256), Password = "p" });
                break;
            case "password-too-long":
                authentication.Users.Add(new SocksUser { Username = "alice", Password = new string('p', 256) });
                break;
            case "password-too-long-in-utf8":
                // 128 characters, but 256 UTF-8 bytes: the RFC 1929 limit counts bytes.
                authentication.Users.Add(new SocksUser { Username = "alice", Password = "ok" });
                authentication.Users.Add(new SocksUser { Username = "bob", Password = new string('é', 128) });
                break;
            case "duplicate-username":
                authentication.Users.Add(new SocksUser { Username = "alice", Password = "one" });
                authentication.Users.Add(new SocksUser { Username = "alice", Password = "two" });
                break;
            case "handshake-timeout-zero":
                limits.HandshakeTimeout = TimeSpan.Zero;
                break;
            case "handshake-timeout-negative":
                limits.HandshakeTimeout = TimeSpan.FromSeconds(-1);
                break;
            case "connect-timeout-zero":
                limits.ConnectTimeout = TimeSpan.Zero;
                break;
            case "idle-timeout-zero":
                limits.IdleTimeout = TimeSpan.Zero;
                break;
            case "drain-timeout-zero":
                limits.DrainTimeout = TimeSpan.Zero;
                break;
            case "max-sessions-zero":
                limits.MaxConcurrentSessions = 0;
                break;
            case "max-sessions-negative":
                limits.MaxConcurrentSessions = -1;
                break;
            case "recent-login-ttl-negative":
                authentication.RecentLoginTtl = TimeSpan.FromSeconds(-1);
                break;
            case "max-handshakes-zero":
                limits.MaxHandshakes = 0;
                break;
            case "max-handshakes-per-client-zero":
                limits.MaxHandshakesPerClient = 0;
                break;
            case "max-sessions-per-client-zero":
                limits.MaxSessionsPerClient = 0;
                break;
            case "new-sessions-rate-negative":
                limits.NewSessionsPerClientPerSecond = -1;
                break;
            case "new-sessions-burst-negative":
                limits.NewSessionsPerClientBurst = -1;
                break;
            case "max-descriptors-negative":
                limits.MaxDescriptors = -1;
                break;
            case "reserved-descriptors-below-default":
                limits.ReservedDescriptors = -2;
                break;
            case "reserved-descriptors-not-below-max":
                limits.MaxDescriptors = 1000;
                limits.ReservedDescriptors = 1000;
                break;
            case "udp-max-associations-per-client-zero":
                options.Udp.MaxAssociationsPerClient = 0;
                break;
            case "udp-max-associations-negative":
                options.Udp.MaxAssociations = -1;
                break;
            case "public-listener-without-users":
                // Anonymous access is off by default on a listener other hosts can reach, and no other method is on.
                options.Listen = ["0.0.0.0:1080"];
                break;
            case "happy-eyeballs-too-short":
                options.Connect.HappyEyeballsDelay = TimeSpan.FromMilliseconds(9);
                break;
            case "happy-eyeballs-too-long":
                options.Connect.HappyEyeballsDelay = TimeSpan.FromMilliseconds(2001);
                break;
            case "allowed-prefix-too-long":
                options.Access.AllowedDestinations = ["10.0.0.0/33"];
                break;
            case "allowed-without-prefix":
                options.Access.AllowedDestinations = ["10.0.0.0"];
                break;
            case "allowed-not-cidr":
                options.Access.AllowedDestinations = ["10.0.0.0/8", "example.com"];
                break;
            case "denied-not-cidr":
                options.Access.DeniedDestinations = ["nope"];
                break;
            case "default-action-unknown":
                options.Access.DefaultAction = "Maybe";
                break;
            case "rule-without-name":
                options.Access.Rules.Add(new AccessRuleOptions { Action = "Allow" });
                break;
            case "rule-name-reserved":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "Egress-Guard", Action = "Allow" });
                break;
            case "rule-name-duplicate":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "web", Action = "Allow" });
                options.Access.Rules.Add(new AccessRuleOptions { Name = "WEB", Action = "Deny" });
                break;
            case "rule-name-with-spaces":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "my rule", Action = "Allow" });
                break;
            case "rule-action-missing":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "web" });
                break;
            case "rule-client-not-cidr":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Clients = ["10.0.0.0/8", "10.0.0.1"] });
                break;
            case "rule-destination-host-bits":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Destinations = ["10.1.2.3/8"] });
                break;
            case "rule-command-unknown":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Commands = ["Associate"] });
                break;
            case "rule-domain-inner-wildcard":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Domains = ["www.*.example.com"] });
                break;
            case "rule-domain-not-ascii":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Domains = ["bücher.example"] });
                break;
            case "rule-port-too-large":
                for (var i = 0; i < 3; i++)
                {
                    options.Access.Rules.Add(new AccessRuleOptions { Name = $"ok{i}", Action = "Allow", Ports = ["1-65535"] });
                }

                options.Access.Rules.Add(new AccessRuleOptions { Name = "bad", Action = "Deny", Ports = ["70000"] });
                break;
            case "rule-port-range-reversed":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Ports = ["443", "9000-8000"] });
                break;
            case "rule-user-empty":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Users = [""] });
                break;
            case "rule-bind-with-destination":
                options.Access.Rules.Add(new AccessRuleOptions { Name = "lab", Action = "Allow", Commands = ["Bind"], Ports = ["21"] });
                break;
            case "rules":
                options.Access.DefaultAction = "deny";
                options.Access.EgressGuard = false;
                options.Access.Rules.Add(new AccessRuleOptions
                {
                    Name = "lab-1.web_v2",
                    Action = "allow",
                    Clients = ["10.0.0.0/8", "fd00::/8"],
                    Users = ["alice"],
                    Groups = ["staff"],
                    Commands = ["connect", "UDP", "UdpAssociate"],
                    Destinations = ["0.0.0.0/0", "::/0", "::ffff:10.0.0.0/104"],
                    Domains = ["example.com", ".example.org", "*.example.net", "*", "xn--bcher-kva.example", "trailing.example."],
                    Ports = ["0", "443", "8000-8999", " 65535 ", "1-65535"],
                });
                options.Access.Rules.Add(new AccessRuleOptions { Name = "rest", Action = "Deny", Commands = ["Bind"] });
                break;
            case "backlog-zero":
                transport.Backlog = 0;
                break;
            case "udp-engine-unknown":
                options.Udp.Engine = (UdpEngineMode)42;
                break;
            case "udp-mode-unknown":
                options.Udp.Mode = (UdpMode)42;
                break;
            case "udp-shared-port-negative":
                options.Udp.Mode = UdpMode.Shared;
                options.Udp.SharedPort = -1;
                break;
            case "udp-shared-port-too-large":
                options.Udp.Mode = UdpMode.Shared;
                options.Udp.SharedPort = 65536;
                break;
            case "udp-shared-port-without-shared-mode":
                options.Udp.SharedPort = 1080;
                break;
            case "udp-shared-mode-on-portable-engine":
                options.Udp.Mode = UdpMode.Shared;
                options.Udp.Engine = UdpEngineMode.Portable;
                break;
            case "udp-event-loop-threads-negative":
                options.Udp.EventLoopThreads = -1;
                break;
            case "udp-event-loop-threads-too-many":
                options.Udp.EventLoopThreads = 257;
                break;
            case "udp-max-queue-delay-too-short":
                options.Udp.MaxQueueDelay = TimeSpan.FromMicroseconds(999);
                break;
            case "drain-delay-negative":
                limits.DrainDelay = TimeSpan.FromSeconds(-1);
                break;
            case "proxy-listen-bad":
                options.Authentication.AllowAnonymous = true;
                options.ProxyProtocol.Listen = ["10.0.1.2"];
                options.ProxyProtocol.TrustedNetworks = ["10.0.1.1"];
                break;
            case "proxy-listen-also-plain":
                options.Authentication.AllowAnonymous = true;
                options.Listen = ["127.0.0.1:1080"];
                options.ProxyProtocol.Listen = ["127.0.0.1:1080"];
                options.ProxyProtocol.TrustedNetworks = ["127.0.0.1"];
                break;
            case "proxy-without-trusted-networks":
                options.Authentication.AllowAnonymous = true;
                options.ProxyProtocol.Listen = ["10.0.1.2:1081"];
                break;
            case "proxy-trusted-network-bad":
                options.Authentication.AllowAnonymous = true;
                options.ProxyProtocol.Listen = ["10.0.1.2:1081"];
                options.ProxyProtocol.TrustedNetworks = ["10.0.1.0/24", "10.0.1.0/33"];
                break;
            case "proxy-trusted-network-scoped":
                options.Authentication.AllowAnonymous = true;
                options.ProxyProtocol.Listen = ["10.0.1.2:1081"];
                options.ProxyProtocol.TrustedNetworks = ["fe80::1%2"];
                break;
            case "proxy-trusted-without-listen":
                options.Authentication.AllowAnonymous = true;
                options.ProxyProtocol.TrustedNetworks = ["10.0.1.1"];
                break;
            case "proxy-header-timeout-zero":
                options.Authentication.AllowAnonymous = true;
                options.ProxyProtocol.Listen = ["10.0.1.2:1081"];
                options.ProxyProtocol.TrustedNetworks = ["10.0.1.1"];
                options.ProxyProtocol.HeaderTimeout = TimeSpan.Zero;
                break;
            case "proxy-protocol":
                options.Authentication.AllowAnonymous = true;
                options.Listen = ["127.0.0.1:1080"];
                options.ProxyProtocol.Listen = ["0.0.0.0:1081", "[::]:1082"];
                options.ProxyProtocol.TrustedNetworks = ["10.0.0.0/8", "10.0.1.1", "fd00::/8", "fd00::1"];
                limits.DrainDelay = TimeSpan.FromSeconds(5);
                break;
            case "udp-shared-receive-buffer-too-small":
                options.Udp.SharedSocketReceiveBufferSize = 4095;
                break;
            case "udp-shared-receive-buffer-too-large":
                options.Udp.SharedSocketReceiveBufferSize = 256 * 1024 * 1024 + 1;
                break;
            case "udp-max-queue-delay-too-long":
                options.Udp.MaxQueueDelay = TimeSpan.FromSeconds(10.001);
                break;
            case "receive-buffer-too-small":
                transport.ReceiveBufferSize = 1023;
                break;
            case "receive-buffer-too-large":
                transport.ReceiveBufferSize = (1024 * 1024) + 1;
                transport.MaxBufferedBytes = 4 * 1024 * 1024;
                break;
            case "max-buffered-below-receive-buffer":
                transport.MaxBufferedBytes = transport.ReceiveBufferSize - 1;
                break;
            case "admin-disabled-with-bad-listen":
                options.Admin.Enabled = false;
                options.Admin.Listen = ["not an endpoint"];
                break;
            case "boundaries":
                limits.MaxConcurrentSessions = 1;
                limits.HandshakeTimeout = TimeSpan.FromTicks(1);
                options.Connect.HappyEyeballsDelay = TimeSpan.FromMilliseconds(10);
                transport.Backlog = 1;
                transport.ReceiveBufferSize = 1024 * 1024;
                transport.MaxBufferedBytes = 1024 * 1024;
                options.Udp.EventLoopThreads = 256;
                options.Udp.MaxQueueDelay = TimeSpan.FromMilliseconds(1);
                options.Udp.Engine = UdpEngineMode.Portable;
                break;
            case "255-byte-credentials":
                authentication.UsernamePassword = true;
                authentication.Users.Add(new SocksUser { Username = new string('u', 255), Password = new string('p', 255) });
                authentication.Users.Add(new SocksUser { Username = "", Password = "" });
                options.Udp.MaxQueueDelay = TimeSpan.Zero;
                options.Udp.EventLoopThreads = 1;
                break;
            case "username-password-only":
                authentication.AllowAnonymous = false;
                authentication.UsernamePassword = true;
                authentication.Users.Add(new SocksUser { Username = "alice", Password = "secret" });
                options.Connect.HappyEyeballsDelay = TimeSpan.FromSeconds(2);
                transport.ReceiveBufferSize = 1024;
                break;
            case "ipv6-listeners-and-networks":
                options.Listen = ["[::]:1080", "0.0.0.0:1080", "[::1]:0"];
                options.Admin.Listen = ["[::1]:9464"];
                options.Authentication.AllowAnonymous = true;
                options.Access.AllowedDestinations = ["0.0.0.0/0", "::/0"];
                options.Access.DeniedDestinations = ["fd00::/8", "127.0.0.0/8", "169.254.169.254/32"];
                break;
            case "network-with-host-bits":
                // Since .NET 10, IPNetwork clears the bits after the prefix instead of refusing them: the
                // validator refuses what would silently widen the rule.
                options.Access.AllowedDestinations = ["10.1.2.3/8"];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(setting), setting, null);
        }
    }
}
