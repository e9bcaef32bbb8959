namespace KestrelSocks.LoadTest;

/// <summary>
/// Where the echo target of the idle mode runs. In-process it costs the generator a second socket per session,
/// so with many sessions it goes to a child process to stay under the per-process open-file limit.
/// </summary>
internal enum IdleTargetPlacement
{
    Auto,
    InProcess,
    ChildProcess,
}
