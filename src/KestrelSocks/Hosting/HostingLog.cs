using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Hosting;

/// <summary>Log messages of the host's lifetime, in place of Microsoft.Hosting.Lifetime's (which call SOCKS listeners HTTP).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventIds.Started, LogLevel.Information,
        "KestrelSocks {Version} (commit {Commit}) started; environment {Environment}, content root {ContentRoot}")]
    public static partial void Started(ILogger logger, string version, string commit, string environment, string contentRoot);

    [LoggerMessage(EventIds.Stopping, LogLevel.Information, "KestrelSocks stopping: new connections are refused, open tunnels get up to {DrainTimeout}")]
    public static partial void Stopping(ILogger logger, TimeSpan drainTimeout);
}
