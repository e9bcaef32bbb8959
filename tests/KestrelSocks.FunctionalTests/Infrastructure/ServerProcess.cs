using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// The built server executable as a real process: <c>dotnet KestrelSocks.Server.dll</c> from the test output folder
/// (the project reference copies it there), with its standard output and error captured line by line.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private ServerProcess(Process process)
    {
        _process = process;
    }

    public string StandardOutput
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    public string AllOutput => StandardOutput + StandardError;

    /// <summary>Starts the server with loopback port-0 listeners, then <paramref name="settings"/> (later settings win).</summary>
    public static ServerProcess Start(params string[] settings) => Start(new Dictionary<string, string?>(), settings);

    /// <summary>As <see cref="Start(string[])"/>, with environment variables set (a null value removes one).</summary>
    public static ServerProcess Start(IReadOnlyDictionary<string, string?> environment, params string[] settings) =>
        Start(environment, descriptorLimit: null, networkNamespace: null, settings);

    /// <summary>
    /// As <see cref="Start(string[])"/>, inside network namespace <paramref name="networkNamespace"/> (through
    /// <c>ip netns exec</c>, which executes dotnet in its own place: the process id stays the server's).
    /// </summary>
    public static ServerProcess StartInNamespace(string networkNamespace, params string[] settings) =>
        Start(new Dictionary<string, string?>(), descriptorLimit: null, networkNamespace, settings);

    /// <summary>As <see cref="Start(string[])"/>, under prlimit(1): soft and hard RLIMIT_NOFILE are both <paramref name="descriptorLimit"/>.</summary>
    public static ServerProcess StartWithDescriptorLimit(int descriptorLimit, params string[] settings) =>
        Start(new Dictionary<string, string?>(), descriptorLimit, networkNamespace: null, settings);

    private static ServerProcess Start(IReadOnlyDictionary<string, string?> environment, int? descriptorLimit, string? networkNamespace, string[] settings)
    {
        var directory = AppContext.BaseDirectory;
        var serverDll = Path.Combine(directory, "KestrelSocks.Server.dll");
        Assert.True(File.Exists(serverDll), $"{serverDll} is missing: the project reference to KestrelSocks.Server should copy it next to the tests.");

        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var launcher = networkNamespace is not null ? NetworkNamespaces.IpPath ?? "ip" : descriptorLimit is null ? dotnet : "prlimit";
        var startInfo = new ProcessStartInfo(launcher)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (networkNamespace is not null)
        {
            Assert.Null(descriptorLimit);
            startInfo.ArgumentList.Add("netns");
            startInfo.ArgumentList.Add("exec");
            startInfo.ArgumentList.Add(networkNamespace);
            startInfo.ArgumentList.Add(dotnet);
        }
        else if (descriptorLimit is { } limit)
        {
            // prlimit sets the limit and then executes dotnet in its own place: the process id stays the server's.
            startInfo.ArgumentList.Add($"--nofile={limit}:{limit}");
            startInfo.ArgumentList.Add("--");
            startInfo.ArgumentList.Add(dotnet);
        }

        startInfo.ArgumentList.Add(serverDll);
        startInfo.ArgumentList.Add("--KestrelSocks:Listen:0=127.0.0.1:0");
        startInfo.ArgumentList.Add("--KestrelSocks:Admin:Listen:0=127.0.0.1:0");
        foreach (var setting in ProxyHost.LoopbackRule)
        {
            startInfo.ArgumentList.Add(setting);
        }

        foreach (var setting in settings)
        {
            startInfo.ArgumentList.Add(setting);
        }

        // The same defaults as a plain "dotnet KestrelSocks.Server.dll", whatever the test runner's environment says.
        startInfo.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        startInfo.Environment.Remove("DOTNET_ENVIRONMENT");
        startInfo.Environment.Remove("ASPNETCORE_URLS");
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(name);
            }
            else
            {
                startInfo.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Append(server._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(server._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Runs the executable with exactly <paramref name="arguments"/> (a command such as <c>hash-password</c>), no listener settings added.</summary>
    public static ServerProcess StartCommand(params string[] arguments) => StartCommandIn(AppContext.BaseDirectory, arguments);

    /// <summary>As <see cref="StartCommand"/>, from <paramref name="workingDirectory"/> instead of the folder the executable is in.</summary>
    public static ServerProcess StartCommandIn(string workingDirectory, params string[] arguments)
    {
        var directory = AppContext.BaseDirectory;
        var startInfo = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(Path.Combine(directory, "KestrelSocks.Server.dll"));
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Append(server._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(server._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>The process's standard input (redirected, so never a terminal).</summary>
    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>Waits for the process to end by itself and returns its exit code, with all of its output read.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Long);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public async Task WaitForOutputAsync(string text)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!AllOutput.Contains(text, StringComparison.Ordinal))
        {
            var left = TestTimeouts.Long - stopwatch.Elapsed;
            if (_process.HasExited || left <= TimeSpan.Zero)
            {
                // One last look: the final lines may have landed with the exit.
                if (AllOutput.Contains(text, StringComparison.Ordinal))
                {
                    return;
                }

                Assert.Fail($"The server never wrote '{text}' (exited: {_process.HasExited}). Output so far:{Environment.NewLine}{AllOutput}");
            }

            await _lineArrived.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>The SOCKS endpoint the server reports once it listens.</summary>
    public async Task<IPEndPoint> WaitForSocksEndPointAsync()
    {
        const string Prefix = "Listening for SOCKS5 on ";
        await WaitForOutputAsync(Prefix);
        var match = SocksListening().Match(AllOutput);
        Assert.True(match.Success, AllOutput);
        return new IPEndPoint(IPAddress.Parse(match.Groups["address"].Value), int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>The admin (metrics and health) endpoint the server reports once it listens.</summary>
    public async Task<IPEndPoint> WaitForAdminEndPointAsync()
    {
        const string Prefix = "Listening for metrics and health (HTTP) on ";
        await WaitForOutputAsync(Prefix);
        var match = AdminListening().Match(AllOutput);
        Assert.True(match.Success, AllOutput);
        return new IPEndPoint(IPAddress.Parse(match.Groups["address"].Value), int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>The process id: prlimit, when used, has become the server itself.</summary>
    public int ProcessId => _process.Id;

    /// <summary>True while the process runs.</summary>
    public bool IsRunning => !_process.HasExited;

    /// <summary>Sends SIGTERM, as a container runtime or systemd does, and returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        Assert.Equal(0, SendSignal(_process.Id, SigTerm));
        return await WaitForExitAsync();
    }

    /// <summary>Sends SIGTERM and returns at once, for tests that watch the drain that follows.</summary>
    public void SendTerminate() => Assert.Equal(0, SendSignal(_process.Id, SigTerm));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            using var timeout = new CancellationTokenSource(TestTimeouts.Default);
            await _process.WaitForExitAsync(timeout.Token);
        }

        _process.Dispose();
        _lineArrived.Dispose();
    }

    private void Append(StringBuilder target, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            target.AppendLine(line);
        }

        _lineArrived.Release();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SendSignal(int pid, int signal);

    [GeneratedRegex(@"Listening for SOCKS5 on (?<address>[0-9.]+):(?<port>\d+)")]
    private static partial Regex SocksListening();

    [GeneratedRegex(@"Listening for metrics and health \(HTTP\) on (?<address>[0-9.]+):(?<port>\d+)")]
    private static partial Regex AdminListening();
}
