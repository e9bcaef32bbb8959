using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A small routed network of Linux network namespaces, made for one test and deleted with it. A hub namespace routes
/// between one namespace per role; each role namespace has one veth link to the hub, on its own /24 of
/// 10.77.0.0/16 (the role's address is .2, the hub's .1 and its default route). Names carry a random id, so tests
/// and runs never share a namespace. Needs root and iproute2's <c>ip</c>.
/// </summary>
internal sealed partial class NetworkNamespaces : IAsyncDisposable
{
    private const string Hub = "hub";

    private readonly string _id;
    private readonly List<string> _created = [];
    private readonly Dictionary<string, (string Namespace, IPAddress Address)> _roles = new(StringComparer.Ordinal);
    private readonly List<NamespacedProcess> _processes = [];
    private readonly List<ServerProcess> _servers = [];
    private readonly Lock _gate = new();

    private NetworkNamespaces(string id)
    {
        _id = id;
    }

    /// <summary>The <c>ip</c> executable, or null when iproute2 is not installed.</summary>
    public static string? IpPath { get; } = FindExecutable("ip", "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip");

    /// <summary>Python 3 for the helper scripts: Debian's own first, so an activated virtualenv changes nothing.</summary>
    public static string PythonPath { get; } = FindExecutable("python3", "/usr/bin/python3") ?? "python3";

    /// <summary>Why these tests cannot run here, or null when they can.</summary>
    public static string? UnsupportedReason
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return "network namespaces need Linux";
            }

            if (GetEffectiveUserId() != 0)
            {
                return "network namespaces need root (ip netns add); run the tests as root, as CI does";
            }

            return IpPath is null ? "iproute2's ip is missing (apt-get install iproute2)" : null;
        }
    }

    /// <summary>True when the environment says this is CI, where nothing may be skipped.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The namespace id of this network (part of every namespace name).</summary>
    public string Id => _id;

    /// <summary>Every namespace this network created and has not deleted yet.</summary>
    public IReadOnlyList<string> Namespaces
    {
        get
        {
            lock (_gate)
            {
                return [.. _created];
            }
        }
    }

    /// <summary>
    /// Creates the hub and one namespace per role, each linked and routed to the hub, with <c>lo</c> up everywhere.
    /// Fails the test (never skips it) when the machine cannot make namespaces.
    /// </summary>
    public static async Task<NetworkNamespaces> CreateAsync(params string[] roles)
    {
        var reason = UnsupportedReason;
        Assert.True(reason is null, $"Network namespace tests cannot run: {reason}.");
        Assert.True(roles.Length is > 0 and < 250, "Between 1 and 249 roles.");

        var network = new NetworkNamespaces(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3)));
        try
        {
            var hub = await network.AddNamespaceAsync(Hub);
            await IpAsync("netns", "exec", hub, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward");
            for (var i = 0; i < roles.Length; i++)
            {
                var role = roles[i];
                Assert.False(role == Hub || network._roles.ContainsKey(role), $"Role '{role}' is reserved or given twice.");
                Assert.Matches("^[a-z][a-z0-9]{0,5}$", role);
                var name = await network.AddNamespaceAsync(role);
                var subnet = i + 1;
                var hubAddress = $"10.77.{subnet}.1";
                var address = IPAddress.Parse($"10.77.{subnet}.2");

                // Both ends are created inside their namespaces, so no name is ever taken in the host's namespace.
                var hubEnd = $"to-{role}";
                await IpAsync("link", "add", "name", "eth0", "netns", name, "type", "veth", "peer", "name", hubEnd, "netns", hub);
                await IpAsync("-n", hub, "address", "add", $"{hubAddress}/24", "dev", hubEnd);
                await IpAsync("-n", hub, "link", "set", hubEnd, "up");
                await IpAsync("-n", name, "address", "add", $"{address}/24", "dev", "eth0");
                await IpAsync("-n", name, "link", "set", "eth0", "up");
                await IpAsync("-n", name, "route", "add", "default", "via", hubAddress);
                network._roles.Add(role, (name, address));
            }

            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>The namespace name of <paramref name="role"/>, for <c>ip netns exec</c>.</summary>
    public string NamespaceOf(string role) => Role(role).Namespace;

    /// <summary>The routable address of <paramref name="role"/>'s namespace.</summary>
    public IPAddress AddressOf(string role) => Role(role).Address;

    /// <summary>Starts <paramref name="fileName"/> inside <paramref name="role"/>'s namespace; it is killed when the network is disposed.</summary>
    public NamespacedProcess Start(string role, string fileName, params string[] arguments)
    {
        var process = NamespacedProcess.Start(IpPath!, ["netns", "exec", NamespaceOf(role), fileName, .. arguments]);
        lock (_gate)
        {
            _processes.Add(process);
        }

        return process;
    }

    /// <summary>Starts the KestrelSocks server inside <paramref name="role"/>'s namespace; it is stopped when the network is disposed.</summary>
    public ServerProcess StartServer(string role, params string[] settings)
    {
        var server = ServerProcess.StartInNamespace(NamespaceOf(role), settings);
        lock (_gate)
        {
            _servers.Add(server);
        }

        return server;
    }

    /// <summary>Runs <paramref name="fileName"/> to its end inside <paramref name="role"/>'s namespace, bounded by <paramref name="timeout"/>.</summary>
    public Task<CommandResult> RunAsync(string role, TimeSpan timeout, string fileName, params string[] arguments) =>
        CommandResult.RunAsync(IpPath!, ["netns", "exec", NamespaceOf(role), fileName, .. arguments], timeout);

    /// <summary>The HTTP status of a GET from inside <paramref name="role"/>'s namespace (curl), and the body.</summary>
    public async Task<(int Status, string Body)> HttpGetAsync(string role, string url)
    {
        var result = await RunAsync(role, TestTimeouts.Default, "curl", "-q", "--silent", "--max-time", "5", "--noproxy", "*",
            "--write-out", "\n%{http_code}", url);
        var text = result.StandardOutput;
        var split = text.LastIndexOf('\n');
        var status = int.TryParse(text[(split + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : 0;
        return (status, split < 0 ? "" : text[..split]);
    }

    /// <summary>The namespaces of every KestrelSocks test network that exist now (ours and leftovers).</summary>
    public static async Task<IReadOnlyList<string>> ListAllAsync()
    {
        var result = await CommandResult.RunAsync(IpPath!, ["netns", "list"], TestTimeouts.Default);
        return [.. result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(' ')[0])
            .Where(name => OurName().IsMatch(name))];
    }

    public async ValueTask DisposeAsync()
    {
        List<NamespacedProcess> processes;
        List<ServerProcess> servers;
        List<string> created;
        lock (_gate)
        {
            processes = [.. _processes];
            servers = [.. _servers];
            created = [.. _created];
            _processes.Clear();
            _servers.Clear();
        }

        var errors = new List<string>();
        foreach (var process in processes)
        {
            await Try(errors, () => process.DisposeAsync().AsTask());
        }

        foreach (var server in servers)
        {
            await Try(errors, () => server.DisposeAsync().AsTask());
        }

        // Anything still running in a namespace (a child a process left behind) would keep it alive: kill it, then delete.
        created.Reverse();
        foreach (var name in created)
        {
            await Try(errors, async () =>
            {
                var pids = await CommandResult.RunAsync(IpPath!, ["netns", "pids", name], TestTimeouts.Default);
                foreach (var pid in pids.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                    {
                        _ = SendSignal(id, 9);
                    }
                }
            });

            await Try(errors, async () =>
            {
                var deleted = await CommandResult.RunAsync(IpPath!, ["netns", "delete", name], TestTimeouts.Default);
                if (deleted.ExitCode != 0)
                {
                    throw new InvalidOperationException($"ip netns delete {name} failed: {deleted.StandardError}");
                }

                lock (_gate)
                {
                    _created.Remove(name);
                }
            });
        }

        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Cleaning up the test network failed: " + string.Join("; ", errors));
        }
    }

    private static async Task Try(List<string> errors, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e)
        {
            errors.Add(e.Message);
        }
    }

    private (string Namespace, IPAddress Address) Role(string role) =>
        _roles.TryGetValue(role, out var entry) ? entry : throw new ArgumentException($"No role '{role}' in this network.", nameof(role));

    private async Task<string> AddNamespaceAsync(string role)
    {
        var name = $"ks{_id}-{role}";
        await IpAsync("netns", "add", name);
        lock (_gate)
        {
            _created.Add(name);
        }

        await IpAsync("-n", name, "link", "set", "lo", "up");
        return name;
    }

    private static async Task IpAsync(params string[] arguments)
    {
        var result = await CommandResult.RunAsync(IpPath!, arguments, TestTimeouts.Default);
        Assert.True(result.ExitCode == 0, $"ip {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.StandardError}");
    }

    private static string? FindExecutable(string name, params string[] candidates)
    {
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(directory, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static uint GetEffectiveUserId()
    {
        try
        {
            return GetEuid();
        }
        catch (DllNotFoundException)
        {
            return uint.MaxValue;
        }
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern uint GetEuid();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SendSignal(int pid, int signal);

    [System.Text.RegularExpressions.GeneratedRegex("^ks[0-9a-f]{6}-[a-z0-9]+$")]
    private static partial System.Text.RegularExpressions.Regex OurName();
}
