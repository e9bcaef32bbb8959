namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// Upper bounds for every await in these tests. They only decide how long a broken test hangs before it fails; a
/// passing test never waits for them, so they can be generous enough for a loaded 2-core CI machine.
/// </summary>
internal static class TestTimeouts
{
    /// <summary>One step: a connect, a read, a write, a host start, one scrape.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    /// <summary>A whole bulk phase, such as 500 sessions opening or a process starting and stopping.</summary>
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(60);
}
