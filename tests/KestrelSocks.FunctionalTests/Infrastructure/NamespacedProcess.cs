using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A helper process (a Python script, HAProxy) started through <c>ip netns exec</c>, which executes the command in its
/// own place: the process id is the helper's. Output is captured line by line; disposing kills it.
/// </summary>
internal sealed class NamespacedProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly List<string> _stdoutLines = [];
    private readonly StringBuilder _output = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private NamespacedProcess(Process process)
    {
        _process = process;
    }

    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    public IReadOnlyList<string> StandardOutputLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _stdoutLines];
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static NamespacedProcess Start(string fileName, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // Python writes each line as it goes, whatever its output is connected to.
        startInfo.Environment["PYTHONUNBUFFERED"] = "1";
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var result = new NamespacedProcess(process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data, standardOutput: true);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data, standardOutput: false);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Waits for a standard output line that <paramref name="match"/> accepts, and returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TestTimeouts.Long;
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var found = StandardOutputLines.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            var left = limit - stopwatch.Elapsed;
            if (left <= TimeSpan.Zero || _process.HasExited)
            {
                found = StandardOutputLines.FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }

                Assert.Fail($"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)} never wrote the line expected " +
                    $"(exited: {_process.HasExited}). Output so far:{Environment.NewLine}{Output}");
            }

            await _lineArrived.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Waits until the combined output contains <paramref name="text"/>.</summary>
    public Task WaitForOutputAsync(string text, TimeSpan? timeout = null) =>
        Eventually.AssertAsync(() => Output.Contains(text, StringComparison.Ordinal), () => $"'{text}' never appeared in:{Environment.NewLine}{Output}",
            timeout ?? TestTimeouts.Long);

    /// <summary>Waits for the process to end by itself and returns its exit code, with all of its output read.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TestTimeouts.Long);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    public void Terminate()
    {
        if (!_process.HasExited)
        {
            _ = SendSignal(_process.Id, SigTerm);
        }
    }

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

    private void Append(string? line, bool standardOutput)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            if (standardOutput)
            {
                _stdoutLines.Add(line);
            }

            _output.AppendLine(line);
        }

        _lineArrived.Release();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SendSignal(int pid, int signal);
}
