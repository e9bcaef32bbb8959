using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Authentication;

/// <summary>Log messages of the user store and the authenticator. Passwords and hashes never reach them.</summary>
internal static partial class AuthenticationLog
{
    [LoggerMessage(EventIds.PlaintextPasswords, LogLevel.Warning,
        "{Count} account(s) in KestrelSocks:Authentication:Users have a plaintext password in configuration; move them to a users file (KestrelSocks:Authentication:UsersFile) with hashes from 'KestrelSocks.Server hash-password'")]
    public static partial void PlaintextPasswords(ILogger logger, int count);

    [LoggerMessage(EventIds.UsersFileLoaded, LogLevel.Information, "Users file {Path}: {Count} account(s) loaded")]
    public static partial void UsersFileLoaded(ILogger logger, string path, int count);

    [LoggerMessage(EventIds.UsersFileNotLoaded, LogLevel.Warning,
        "Users file {Path} changed but was not loaded ({Problem}); the {Count} account(s) loaded before stay in use")]
    public static partial void UsersFileNotLoaded(ILogger logger, string path, string problem, int count);

    [LoggerMessage(EventIds.HashCostDiffers, LogLevel.Warning,
        "Users file {Path}: {Count} account(s) have an iteration count other than KestrelSocks:Authentication:HashIterations ({Iterations}), the cost of checking an unknown name; their logins take a different time, which tells a guesser that the name exists")]
    public static partial void HashCostDiffers(ILogger logger, string path, int count, int iterations);

    [LoggerMessage(EventIds.AuthenticationFailed, LogLevel.Information, "Authentication failed for user {User} from {Client} ({Reason})")]
    public static partial void AuthenticationFailed(ILogger logger, string user, string client, string reason);

    [LoggerMessage(EventIds.AuthenticationFailuresNotLogged, LogLevel.Information,
        "{Count} further failed authentication(s) were not logged (at most {Limit} lines per second)")]
    public static partial void AuthenticationFailuresNotLogged(ILogger logger, long count, int limit);

    [LoggerMessage(EventIds.ClientBlocked, LogLevel.Warning,
        "Client {Client} blocked for {BlockDuration} after {Failures} failed authentications: until then it is refused without a password check")]
    public static partial void ClientBlocked(ILogger logger, string client, TimeSpan blockDuration, int failures);
}
