using System.Reflection;

namespace KestrelSocks.Diagnostics;

/// <summary>The version and commit of this build, from the assembly's informational version ("1.2.3+commit").</summary>
internal sealed record BuildInfo(string Version, string Commit)
{
    public const string UnknownCommit = "unknown";

    public static BuildInfo Current { get; } = Parse(
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>The SDK appends "+" and SourceRevisionId when the build sets one; without it the commit is unknown.</summary>
    public static BuildInfo Parse(string? informationalVersion)
    {
        if (string.IsNullOrWhiteSpace(informationalVersion))
        {
            return new BuildInfo("0.0.0", UnknownCommit);
        }

        var plus = informationalVersion.IndexOf('+', StringComparison.Ordinal);
        if (plus < 0)
        {
            return new BuildInfo(informationalVersion, UnknownCommit);
        }

        var commit = informationalVersion[(plus + 1)..];
        return new BuildInfo(informationalVersion[..plus], commit.Length == 0 ? UnknownCommit : commit);
    }
}
