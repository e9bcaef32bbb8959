using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using KestrelSocks.FunctionalTests.Infrastructure;

namespace KestrelSocks.FunctionalTests.LoadBalancer;

/// <summary>
/// Two real KestrelSocks processes behind HAProxy, each in its own network namespace:
/// client (10.77.1.2) → balancer (10.77.2.2, HAProxy in TCP mode) → p1 (10.77.3.2) and p2 (10.77.4.2) → target
/// (10.77.5.2: TCP echo, TCP bulk and UDP echo). All routed through a hub namespace, so the client also reaches each
/// instance directly (UDP datagrams, and the untrusted-source test).
/// </summary>
internal sealed partial class BalancedTopology : IAsyncDisposable
{
    public const string Client = "client";
    public const string Balancer = "lb";
    public const string Target = "target";
    public const int SocksPort = 1080;
    public const int AdminPort = 9464;
    public const int UdpPort = 1080;
    public const int EchoPort = 7000;
    public const int BulkPort = 7001;
    public const int UdpEchoPort = 7002;

    public static readonly string[] Instances = ["p1", "p2"];

    private readonly NetworkNamespaces _network;
    private readonly string _directory;
    private readonly Dictionary<string, ServerProcess> _servers = new(StringComparer.Ordinal);

    private BalancedTopology(NetworkNamespaces network, string directory)
    {
        _network = network;
        _directory = directory;
    }

    public NetworkNamespaces Network => _network;

    public NamespacedProcess Haproxy { get; private set; } = null!;

    public NamespacedProcess TargetServer { get; private set; } = null!;

    public IPAddress ClientAddress => _network.AddressOf(Client);

    public IPAddress BalancerAddress => _network.AddressOf(Balancer);

    public IPAddress TargetAddress => _network.AddressOf(Target);

    public ServerProcess Server(string instance) => _servers[instance];

    private string StatsSocket => Path.Combine(_directory, "haproxy.sock");

    /// <summary>
    /// Builds the network, starts the target, both instances and HAProxy, and waits until both instances are ready.
    /// With <paramref name="proxyProtocol"/> (the real setup), instances listen with <c>ProxyProtocol:Listen</c>,
    /// trust only the balancer, and HAProxy sends PROXY v2; without it (plumbing only), they use plain <c>Listen</c>
    /// and HAProxy sends nothing, so the instances see the balancer as the client.
    /// </summary>
    public static async Task<BalancedTopology> StartAsync(bool proxyProtocol, params string[] extraSettings)
    {
        var network = await NetworkNamespaces.CreateAsync(Client, Balancer, Instances[0], Instances[1], Target);
        var directory = Directory.CreateTempSubdirectory($"kestrelsocks-lb-{network.Id}-").FullName;
        var topology = new BalancedTopology(network, directory);
        try
        {
            await topology.StartCoreAsync(proxyProtocol, extraSettings);
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The HAProxy configuration the test runs: the shape of deploy/haproxy/haproxy.cfg, with this network's addresses
    /// and checks fast enough for a test (inter 300ms fall 1 rise 1).
    /// </summary>
    public string RenderHaproxyConfig(bool proxyProtocol)
    {
        var sendProxy = proxyProtocol ? "send-proxy-v2 " : "";
        var servers = string.Join(Environment.NewLine, Instances.Select(instance => $"    server {instance} {_network.AddressOf(instance)}:{SocksPort}"));
        return $"""
            global
                maxconn 2000
                log stderr format raw local0
                stats socket {StatsSocket} mode 600 level user

            defaults
                mode tcp
                log global
                option tcplog
                timeout connect 5s
                timeout client 1h
                timeout server 1h
                timeout check 2s

            frontend socks
                bind {BalancerAddress}:{SocksPort}
                default_backend kestrelsocks

            backend kestrelsocks
                balance roundrobin
                option httpchk GET /healthz/ready
                default-server {sendProxy}check port {AdminPort} inter 300ms fall 1 rise 1
            {servers}

            """;
    }

    /// <summary>Runs socks_client.py in the client namespace against the balancer (or <paramref name="proxy"/>) and returns its final JSON.</summary>
    public async Task<JsonElement> RunClientAsync(string mode, IPEndPoint? proxy = null, params string[] arguments)
    {
        var client = StartClient(mode, proxy, arguments);
        return await FinishClientAsync(client);
    }

    /// <summary>Starts socks_client.py in the client namespace; read its lines with <see cref="ReadEvent"/>.</summary>
    public NamespacedProcess StartClient(string mode, IPEndPoint? proxy = null, params string[] arguments)
    {
        var endPoint = proxy ?? new IPEndPoint(BalancerAddress, SocksPort);
        return _network.Start(Client, NetworkNamespaces.PythonPath,
            [Script("socks_client.py"), endPoint.Address.ToString(), endPoint.Port.ToString(CultureInfo.InvariantCulture), mode, .. arguments]);
    }

    public static async Task<JsonElement> FinishClientAsync(NamespacedProcess client)
    {
        var line = await client.WaitForLineAsync(l => l.Contains("\"event\": \"done\"", StringComparison.Ordinal));
        Assert.Equal(0, await client.WaitForExitAsync());
        return ReadEvent(line);
    }

    public static JsonElement ReadEvent(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    /// <summary>GET on an instance's admin port, from inside the balancer's namespace (where health checks come from).</summary>
    public Task<(int Status, string Body)> AdminGetAsync(string instance, string path) =>
        _network.HttpGetAsync(Balancer, $"http://{_network.AddressOf(instance)}:{AdminPort}{path}");

    /// <summary>One <c>/metrics</c> scrape of an instance; anything but 200 fails the test.</summary>
    public async Task<MetricsSnapshot> ScrapeAsync(string instance)
    {
        var (status, body) = await AdminGetAsync(instance, "/metrics");
        Assert.True(status == 200, $"/metrics of {instance} answered {status}: {body}");
        return MetricsSnapshot.Parse(body);
    }

    /// <summary>The clients named by the session lines in an instance's log (<c>Session … from ip:port user …: command …</c>).</summary>
    public IReadOnlyList<(IPAddress Client, string Command, string Destination, string Line)> Sessions(string instance) =>
        [.. SessionLine().Matches(_servers[instance].AllOutput).Select(match => (
            IPAddress.Parse(match.Groups["client"].Value), match.Groups["command"].Value, match.Groups["destination"].Value, match.Value))];

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _network.DisposeAsync();
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>Everything the test processes wrote, for a failure message.</summary>
    public string Describe() =>
        string.Join(Environment.NewLine, _servers.Select(s => $"--- {s.Key}:{Environment.NewLine}{s.Value.AllOutput}")) +
        $"{Environment.NewLine}--- haproxy:{Environment.NewLine}{Haproxy?.Output}";

    private async Task StartCoreAsync(bool proxyProtocol, string[] extraSettings)
    {
        TargetServer = _network.Start(Target, NetworkNamespaces.PythonPath, Script("target_server.py"), TargetAddress.ToString(),
            EchoPort.ToString(CultureInfo.InvariantCulture), BulkPort.ToString(CultureInfo.InvariantCulture),
            UdpEchoPort.ToString(CultureInfo.InvariantCulture));

        foreach (var instance in Instances)
        {
            var address = _network.AddressOf(instance);
            string[] listener = proxyProtocol
                ?
                [
                    $"--KestrelSocks:ProxyProtocol:Listen:0={address}:{SocksPort}",
                    $"--KestrelSocks:ProxyProtocol:TrustedNetworks:0={BalancerAddress}/32",
                ]
                : [$"--KestrelSocks:Listen:0={address}:{SocksPort}"];
            _servers[instance] = _network.StartServer(instance,
            [
                .. listener,
                $"--KestrelSocks:Admin:Listen:0={address}:{AdminPort}",
                // Nothing but the test's own namespaces can reach these listeners.
                "--KestrelSocks:Authentication:AllowAnonymous=true",
                "--KestrelSocks:Udp:Mode=Shared",
                $"--KestrelSocks:Udp:SharedPort={UdpPort}",
                $"--KestrelSocks:Udp:AdvertisedAddress={address}",
                // The target sits in private space, which the egress guard refuses unless a rule allows it.
                "--KestrelSocks:Access:Rules:998:Name=tests-target",
                "--KestrelSocks:Access:Rules:998:Action=Allow",
                $"--KestrelSocks:Access:Rules:998:Destinations:0={TargetAddress}/32",
                .. extraSettings,
            ]);
        }

        await TargetServer.WaitForLineAsync(line => line == "ready", TestTimeouts.Default);

        // HAProxy starts once both are ready, so its first health checks already pass.
        foreach (var instance in Instances)
        {
            await Eventually.AssertAsync(async () =>
                {
                    if (!_servers[instance].IsRunning)
                    {
                        Assert.Fail($"{instance} exited while starting:{Environment.NewLine}{_servers[instance].AllOutput}");
                    }

                    return (await AdminGetAsync(instance, "/healthz/ready")).Status == 200;
                },
                () => $"{instance} never became ready:{Environment.NewLine}{_servers[instance].AllOutput}", TestTimeouts.Long);
        }

        Assert.True(File.Exists("/usr/sbin/haproxy"), "HAProxy is required by the load-balancer tests and is not at /usr/sbin/haproxy (CI installs it: apt-get install haproxy).");
        var config = Path.Combine(_directory, "haproxy.cfg");
        await File.WriteAllTextAsync(config, RenderHaproxyConfig(proxyProtocol));
        var check = await _network.RunAsync(Balancer, TestTimeouts.Default, "/usr/sbin/haproxy", "-c", "-f", config);
        Assert.True(check.ExitCode == 0, $"haproxy -c rejected the test's configuration:{Environment.NewLine}{check.StandardOutput}{check.StandardError}");

        // -db: foreground, no daemon; its state changes ("Server kestrelsocks/p1 is DOWN") go to standard error. Its
        // listeners, the stats socket among them, are bound before it serves: once both servers read UP there, it
        // accepts. (No probe connection: through the balancer, it would reach an instance as a header-less close.)
        Haproxy = _network.Start(Balancer, "/usr/sbin/haproxy", "-db", "-f", config);
        await Eventually.AssertAsync(async () =>
            {
                Assert.False(Haproxy.HasExited, $"HAProxy exited:{Environment.NewLine}{Haproxy.Output}");
                var states = await ServerStatesAsync();
                return Instances.All(instance => states.TryGetValue(instance, out var state) && state == "UP");
            },
            () => $"HAProxy never had both servers UP:{Environment.NewLine}{Haproxy.Output}", TestTimeouts.Long);
    }

    /// <summary>
    /// The status HAProxy gives each server of the backend (<c>UP</c>, <c>DOWN</c>, …), from <c>show stat</c> on its
    /// stats socket; empty while the socket is not there yet. A Unix socket is a file: the test process reaches it from
    /// the host's namespace.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> ServerStatesAsync()
    {
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(StatsSocket))
        {
            return states;
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(StatsSocket), timeout.Token);
        }
        catch (SocketException)
        {
            return states;
        }

        await socket.SendAsync("show stat\n"u8.ToArray(), SocketFlags.None, timeout.Token);
        using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync(timeout.Token);

        // CSV: "# pxname,svname,...,status,..." then one row per frontend, server and backend.
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines.FirstOrDefault(line => line.StartsWith("# ", StringComparison.Ordinal))?[2..].Split(',');
        if (header is null)
        {
            return states;
        }

        var name = Array.IndexOf(header, "svname");
        var status = Array.IndexOf(header, "status");
        foreach (var fields in lines.Where(line => line.StartsWith("kestrelsocks,", StringComparison.Ordinal)).Select(line => line.Split(',')))
        {
            states[fields[name]] = fields[status];
        }

        return states;
    }

    private static string Script(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "LoadBalancer", "Scripts", name);
        Assert.True(File.Exists(path), $"{path} is missing: the test project copies LoadBalancer/Scripts to its output.");
        return path;
    }

    [GeneratedRegex(@"Session (?<id>\S+) from (?<client>[0-9.]+):(?<port>\d+) user (?<user>\S+): (?<command>\S+) (?<destination>\S+) reply [^\r\n]*")]
    private static partial Regex SessionLine();
}
