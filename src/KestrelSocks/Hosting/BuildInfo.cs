using System.Reflection;

namespace KestrelSocks.Hosting;

/// <summary>
/// The version and commit this build came from. The SDK appends the commit (SourceRevisionId, taken from git by
/// Source Link) to the informational version as <c>1.0.0+COMMIT</c>; a build outside a git checkout has none.
/// </summary>
internal static class BuildInfo
{
    public static readonly string Version;

    public static readonly string Commit;

    static BuildInfo()
    {
        var informational = typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        Version = plus < 0 ? informational : informational[..plus];
        Commit = plus < 0 ? "unknown" : informational[(plus + 1)..];
    }
}
