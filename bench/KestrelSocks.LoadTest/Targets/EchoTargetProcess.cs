using System.Diagnostics;
using System.Net;

namespace KestrelSocks.LoadTest.Targets;

/// <summary>
/// The TCP echo target in a child process (this same program, mode <c>serve-echo</c>), so that idle sessions cost
/// the generator one socket each instead of two. The child exits when its standard input closes, so it cannot
/// outlive the generator.
/// </summary>
internal sealed class EchoTargetProcess : IAsyncDisposable
{
    public const string Command = "serve-echo";
    private const string ReadyPrefix = "LISTENING ";

    private readonly Process _process;

    private EchoTargetProcess(Process process, IPEndPoint endPoint)
    {
        _process = process;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    public int ProcessId => _process.Id;

    public static async Task<EchoTargetProcess> StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath ?? "dotnet",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (IsDotnetHost(start.FileName))
        {
            start.ArgumentList.Add(typeof(EchoTargetProcess).Assembly.Location);
        }

        start.ArgumentList.Add(Command);
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start) ?? throw new InvalidOperationException("The echo target process did not start.");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
                {
                    return new EchoTargetProcess(process, IPEndPoint.Parse(line[ReadyPrefix.Length..]));
                }
            }

            throw new InvalidOperationException("The echo target process exited before it listened.");
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>The child's side: listen, say where, and echo until standard input closes.</summary>
    public static async Task<int> ServeAsync()
    {
        await using var echo = TcpEchoTarget.Start(IPAddress.Loopback);
        Console.Out.WriteLine(ReadyPrefix + echo.EndPoint.ToString());
        Console.Out.Flush();
        using var input = Console.OpenStandardInput();
        var buffer = new byte[256];
        while (await input.ReadAsync(buffer) > 0)
        {
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static bool IsDotnetHost(string path) =>
        string.Equals(Path.GetFileNameWithoutExtension(path), "dotnet", StringComparison.OrdinalIgnoreCase);
}
