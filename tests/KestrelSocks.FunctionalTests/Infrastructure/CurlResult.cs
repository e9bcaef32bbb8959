namespace KestrelSocks.FunctionalTests.Infrastructure;

internal sealed record CurlResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"curl exited with {ExitCode}; stdout: '{StandardOutput}'; stderr: '{StandardError}'";
}
