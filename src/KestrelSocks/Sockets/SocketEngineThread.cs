namespace KestrelSocks.Sockets;

/// <summary>
/// Where a socket continuation runs. With inline completions (the server's default, see
/// <c>KestrelSocksApplication.UseInlineSocketCompletions</c>) code after an awaited socket operation runs on the socket
/// engine's own thread, which every socket of that engine shares; code that moves many bytes, or may wait, steps off
/// it to the thread pool so the next small message is not held up.
/// </summary>
internal static class SocketEngineThread
{
    /// <summary>A move at least this large is bulk work, which belongs on the thread pool.</summary>
    public const int BulkBytes = 16 * 1024;

    /// <summary>
    /// True off the thread pool: on a socket engine thread when completions run inline (or on a thread of the
    /// caller's own, which is as good a reason to leave it).
    /// </summary>
    public static bool IsCurrent => !Thread.CurrentThread.IsThreadPoolThread;

    /// <summary>The name of the runtime's switch, read once when the first socket is used.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Whether this process runs socket completions inline (the runtime's own test of the variable).</summary>
    public static bool InlineCompletions => Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";
}
