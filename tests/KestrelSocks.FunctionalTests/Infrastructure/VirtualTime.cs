using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>Moving a host's <see cref="FakeTimeProvider"/> from a test that talks to it over real sockets.</summary>
internal static class VirtualTime
{
    private static readonly TimeSpan s_settle = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Asserts that <paramref name="outcome"/> has not happened by the time the clock has moved <paramref name="by"/>:
    /// the host is given a moment of real time to act wrongly, which is all a "nothing happened" check can give.
    /// </summary>
    public static async Task AssertNotYetAsync(FakeTimeProvider clock, TimeSpan by, Task outcome, string what)
    {
        clock.Advance(by);
        await Task.WhenAny(outcome, Task.Delay(s_settle));
        if (outcome.IsCompleted)
        {
            Assert.Fail($"{what} happened before the clock reached its timeout: {DescribeCompleted(outcome)}.");
        }
    }

    /// <summary>What a completed task ended with; reading Result of one still running would block on it.</summary>
    private static string DescribeCompleted(Task outcome) => outcome switch
    {
        { IsFaulted: true } => outcome.Exception!.InnerException!.Message,
        { IsCanceled: true } => "canceled",
        _ when outcome.GetType().GetProperty("Result") is { } result => $"{result.GetValue(outcome)}",
        _ => "completed",
    };

    /// <summary>
    /// Moves the clock by <paramref name="step"/>, then by <paramref name="thenStep"/> until <paramref name="outcome"/>
    /// completes. The later steps are needed only when the host started its timer a moment after the test's last sync
    /// point, on the clock as it then stood; one timeout's worth then always reaches it.
    /// </summary>
    public static async Task<T> AdvanceUntilAsync<T>(FakeTimeProvider clock, TimeSpan step, TimeSpan thenStep, Task<T> outcome)
    {
        var stopwatch = Stopwatch.StartNew();
        var next = step;
        while (!outcome.IsCompleted)
        {
            Assert.True(stopwatch.Elapsed < TestTimeouts.Default, $"Still waiting after the clock moved {clock.GetUtcNow() - clock.Start}.");
            clock.Advance(next);
            next = thenStep;
            await Task.WhenAny(outcome, Task.Delay(s_settle));
        }

        return await outcome;
    }
}
