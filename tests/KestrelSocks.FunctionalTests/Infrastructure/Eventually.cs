using System.Diagnostics;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>Polls a condition until it holds or a deadline passes: the replacement for "sleep, then check".</summary>
internal static class Eventually
{
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>Waits until <paramref name="condition"/> returns true; fails the test with <paramref name="describe"/> if it never does.</summary>
    public static async Task AssertAsync(Func<Task<bool>> condition, Func<string> describe, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TestTimeouts.Default;
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition().WaitAsync(limit))
            {
                return;
            }

            if (stopwatch.Elapsed >= limit)
            {
                Assert.Fail($"Not true within {limit.TotalSeconds:0.#} s: {describe()}");
            }

            await Task.Delay(s_pollInterval);
        }
    }

    public static Task AssertAsync(Func<bool> condition, Func<string> describe, TimeSpan? timeout = null) =>
        AssertAsync(() => Task.FromResult(condition()), describe, timeout);
}
