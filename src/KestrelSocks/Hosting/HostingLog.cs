using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Hosting;

/// <summary>Log messages of the host's lifetime, in place of Microsoft.Hosting.Lifetime's (which call SOCKS listeners HTTP).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventIds.Started, LogLevel.Information,
        "KestrelSocks {Version} (commit {Commit}) started; environment {Environment}, content root {ContentRoot}")]
    public static partial void Started(ILogger logger, string version, string commit, string environment, string contentRoot);

    [LoggerMessage(EventIds.Stopping, LogLevel.Information,
        "KestrelSocks stopping: not ready from now; the SOCKS listeners close in {DrainDelay}, then {Sessions} open sessions get up to {DrainTimeout}")]
    public static partial void Stopping(ILogger logger, TimeSpan drainDelay, TimeSpan drainTimeout, int sessions);

    [LoggerMessage(EventIds.ListenersClosed, LogLevel.Information,
        "SOCKS listeners closed: new connections are refused; waiting up to {DrainTimeout} for {Sessions} open sessions")]
    public static partial void ListenersClosed(ILogger logger, int sessions, TimeSpan drainTimeout);

    [LoggerMessage(EventIds.Drained, LogLevel.Information, "Drained: the last session ended {Elapsed} after the listeners closed")]
    public static partial void Drained(ILogger logger, TimeSpan elapsed);

    [LoggerMessage(EventIds.DrainTimedOut, LogLevel.Warning, "Drain timeout ({DrainTimeout}) reached: {Sessions} sessions still open are aborted")]
    public static partial void DrainTimedOut(ILogger logger, int sessions, TimeSpan drainTimeout);
}
