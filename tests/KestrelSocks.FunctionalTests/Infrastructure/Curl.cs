using System.Diagnostics;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>Runs the real curl, a third-party SOCKS5 client, with a hard time limit.</summary>
internal static class Curl
{
    private const string Path = "/usr/bin/curl";

    public static async Task<CurlResult> RunAsync(params string[] args)
    {
        Assert.True(File.Exists(Path), $"curl is required by these tests and is not at {Path} (CI installs it with apt-get install curl).");
        var startInfo = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // -q first: ignore any .curlrc. curl bounds itself; the process wait below is the backstop.
        foreach (var arg in (string[])["-q", "--silent", "--show-error", "--max-time", "10", .. args])
        {
            startInfo.ArgumentList.Add(arg);
        }

        foreach (var variable in (string[])["ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"])
        {
            startInfo.Environment.Remove(variable);
        }

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("curl did not finish within 20 s despite --max-time 10.");
        }

        return new CurlResult(process.ExitCode, await stdout.WaitAsync(TestTimeouts.Default), await stderr.WaitAsync(TestTimeouts.Default));
    }
}
