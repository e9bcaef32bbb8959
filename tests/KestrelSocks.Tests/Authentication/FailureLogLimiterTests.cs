using KestrelSocks.Authentication;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Authentication;

public sealed class FailureLogLimiterTests
{
    [Fact]
    public void LinesOverTheLimit_AreHeldBackAndCountedInTheNextLine()
    {
        var time = new FakeTimeProvider();
        var limiter = new FailureLogLimiter(linesPerSecond: 2, time);

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
