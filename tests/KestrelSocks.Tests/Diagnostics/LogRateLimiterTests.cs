using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace KestrelSocks.Tests.Diagnostics;

public class LogRateLimiterTests
{
    [Fact]
    public void OneLinePerInterval_ReportingHowManyWereSuppressed()
    {
        var time = new FakeTimeProvider();
        var limiter = new LogRateLimiter(time, TimeSpan.FromSeconds(1));

        Assert.True(limiter.TryAcquire(out var suppressed));
        Assert.Equal(0, suppressed);
        for (var i = 0; i < 41; i++)
        {
            Assert.False(limiter.TryAcquire(out _));
        }

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(limiter.TryAcquire(out _));

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limiter.TryAcquire(out suppressed));
        Assert.Equal(42, suppressed);

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(limiter.TryAcquire(out suppressed));
        Assert.Equal(0, suppressed);
    }

    [Fact]
    public void ManyThreadsAtOnce_LetOneThrough()
    {
        var time = new FakeTimeProvider();
        var limiter = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        var passed = 0;
        Parallel.For(0, 10_000, _ =>
        {
            if (limiter.TryAcquire(out _))
            {
                Interlocked.Increment(ref passed);
            }
        });

        Assert.Equal(1, passed);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAcquire(out var suppressed));
        Assert.Equal(9_999, suppressed);
    }

    [Fact]
    public void SeveralLinesPerInterval_TheRestHeldBackAndCountedInTheNextLine()
    {
        var time = new FakeTimeProvider();
        var limiter = new LogRateLimiter(time, TimeSpan.FromSeconds(1), linesPerInterval: 2);

        Assert.True(limiter.TryAcquire(out var suppressed));
        Assert.Equal(0, suppressed);
        Assert.True(limiter.TryAcquire(out _));
        Assert.False(limiter.TryAcquire(out _));
        Assert.False(limiter.TryAcquire(out _));
        Assert.False(limiter.TryAcquire(out _));

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(limiter.TryAcquire(out _));

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limiter.TryAcquire(out suppressed));
        Assert.Equal(4, suppressed);
        Assert.True(limiter.TryAcquire(out suppressed));
        Assert.Equal(0, suppressed);
    }
}
