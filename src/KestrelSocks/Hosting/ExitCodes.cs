namespace KestrelSocks.Hosting;

/// <summary>The process exit codes, documented in <c>--help</c> and the README; scripts and service managers rely on them.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Anything unforeseen; the exception is printed whole, since nobody has written a clean line for it.</summary>
    public const int Unexpected = 1;

    /// <summary>A setting, the users file, a <c>--config</c> file or the command line is wrong; each problem is named.</summary>
    public const int InvalidConfiguration = 2;

    /// <summary>A listener could not bind: address in use, not on this host, or a privileged port.</summary>
    public const int ListenFailed = 3;
}
