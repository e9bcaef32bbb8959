namespace KestrelSocks.Hosting;

/// <summary>A start failure the operator can fix, with the one line that says how and the process exit code.</summary>
internal sealed class StartupException : Exception
{
    public StartupException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }
}
