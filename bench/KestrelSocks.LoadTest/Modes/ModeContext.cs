using KestrelSocks.LoadTest.Payload;
using KestrelSocks.LoadTest.Reporting;
using KestrelSocks.LoadTest.Targets;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>What every mode gets: the options, the shared pattern and targets, the paths to measure, progress output.</summary>
internal sealed class ModeContext
{
    private long _nextId;

    public required LoadTestOptions Options { get; init; }

    public required PayloadPattern Pattern { get; init; }

    public required TargetHost Targets { get; init; }

    /// <summary>The paths to measure, direct first: each case runs on every path before the next case starts.</summary>
    public required IReadOnlyList<LoadPath> Paths { get; init; }

    public required ProgressLog Progress { get; init; }

    public CancellationToken CancellationToken { get; init; }

    /// <summary>The server's pid for a proxied path; none for the direct path, whose work no server does.</summary>
    public int? ServerPidFor(LoadPath path) => path.IsDirect ? null : Options.ServerPid;

    /// <summary>A fresh stream or session id, unique within the run.</summary>
    public long NextId() => Interlocked.Increment(ref _nextId);
}
