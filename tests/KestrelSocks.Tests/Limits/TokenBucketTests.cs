using KestrelSocks.Limits;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Limits;

public sealed class TokenBucketTests
{
    private const int Capacity = 64 * 1024;

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void NewBucket_IsFull_AndGivesNoMoreThanItsCapacity()
    {
        var bucket = new TokenBucket(1000, Capacity, _time);

        Assert.Equal(Capacity, bucket.Available);
        Assert.Equal(Capacity, bucket.TryTake(1_000_000, minimum: 1));
        Assert.Equal(0, bucket.TryTake(1, minimum: 1));
        Assert.False(bucket.TryTake(1));
    }

    [Fact]
    public void Tokens_RefillAtTheRate()
    {
        var bucket = new TokenBucket(10_000, Capacity, _time);
        bucket.TryTake(Capacity, minimum: 1);

        _time.Advance(TimeSpan.FromMilliseconds(250));

        Assert.Equal(2_500, bucket.Available);
        Assert.Equal(2_500, bucket.TryTake(Capacity, minimum: 1));
        Assert.Equal(0, bucket.Available);
    }

    [Fact]
    public void Refill_StopsAtTheCapacity_HoweverLongTheBucketSitsUnused()
    {
        var bucket = new TokenBucket(1_000_000, Capacity, _time);
        bucket.TryTake(1000, minimum: 1);

        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(Capacity, bucket.Available);
        Assert.Equal(Capacity, bucket.TryTake(int.MaxValue, minimum: 1));
        Assert.Equal(0, bucket.Available);
    }

    [Fact]
    public void TryTakeExactly_TakesAllOrNothing()
    {
        var bucket = new TokenBucket(1000, Capacity, _time);
        bucket.TryTake(Capacity - 100, minimum: 1);

        Assert.False(bucket.TryTake(101));
        Assert.Equal(100, bucket.Available);
        Assert.True(bucket.TryTake(100));
        Assert.Equal(0, bucket.Available);
    }

    [Fact]
    public void TryTake_BelowTheMinimum_TakesNothing()
    {
        var bucket = new TokenBucket(1000, Capacity, _time);
        bucket.TryTake(Capacity - 400, minimum: 1);

        Assert.Equal(0, bucket.TryTake(1000, minimum: 500));
        Assert.Equal(400, bucket.Available);
        Assert.Equal(400, bucket.TryTake(1000, minimum: 400));
    }

    [Fact]
    public void Return_GivesBackUnusedTokens_ButNeverBeyondTheCapacity()
    {
        var bucket = new TokenBucket(1000, Capacity, _time);
        var taken = bucket.TryTake(10_000, minimum: 1);

        bucket.Return(taken - 3_000);
        Assert.Equal(Capacity - 3_000, bucket.Available);

        // Tokens that refilled meanwhile and a late return together still leave at most a full bucket.
        _time.Advance(TimeSpan.FromSeconds(10));
        bucket.Return(3_000);
        Assert.Equal(Capacity, bucket.TryTake(int.MaxValue, minimum: 1));
    }

    [Fact]
    public void TimeUntil_IsWhatTheRateNeedsForTheMissingTokens()
    {
        var bucket = new TokenBucket(1000, Capacity, _time);
        bucket.TryTake(Capacity, minimum: 1);

        Assert.Equal(TimeSpan.FromMilliseconds(500), bucket.TimeUntil(500));

        _time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(TimeSpan.FromMilliseconds(300), bucket.TimeUntil(500));
        Assert.Equal(TimeSpan.Zero, bucket.TimeUntil(200));
    }

    [Fact]
    public void ConcurrentTakers_TogetherGetExactlyTheBudget_NeverMore()
    {
        // Each step refills 50 KB, under the capacity so no refill is lost, in many small takes that race each other.
        const long Rate = 1_000_000;
        const int Steps = 200;
        var step = TimeSpan.FromMilliseconds(50);
        var bucket = new TokenBucket(Rate, Capacity, _time);
        var stop = 0;
        var takers = new Thread[4];
        var taken = new long[takers.Length];
        using var started = new CountdownEvent(takers.Length);
        for (var t = 0; t < takers.Length; t++)
        {
            var index = t;
            takers[t] = new Thread(() =>
            {
                // Odd sizes, so takes straddle refills and race for the last tokens.
                var sizes = new[] { 1, 7, 13, 100, 333 };
                var i = 0;
                started.Signal();
                while (Volatile.Read(ref stop) == 0)
                {
                    taken[index] += bucket.TryTake(sizes[i++ % sizes.Length], minimum: 1);
                }
            });
            takers[t].Start();
        }

        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "The takers did not start.");

        // Time moves only once the takers have emptied the bucket, so no refill is lost to the capacity and the
        // budget is exactly the first bucketful plus what the rate allowed.
        for (var i = 0; i < Steps; i++)
        {
            Assert.True(SpinWait.SpinUntil(() => bucket.Available == 0, TimeSpan.FromSeconds(30)), "The takers did not empty the bucket.");
            _time.Advance(step);
        }

        Assert.True(SpinWait.SpinUntil(() => bucket.Available == 0, TimeSpan.FromSeconds(30)), "The takers did not empty the bucket.");
        Volatile.Write(ref stop, 1);
        foreach (var taker in takers)
        {
            taker.Join();
        }

        var budget = Capacity + (Rate * Steps * step.Ticks / TimeSpan.TicksPerSecond);
        var total = taken.Sum();
        Assert.True(total <= budget, $"Takers got {total} bytes, more than the budget of {budget}.");

        // The rate's clock is a product of doubles: at most one byte may be lost to rounding.
        Assert.True(total >= budget - 1, $"Takers got {total} bytes of a budget of {budget}.");
    }

    [Fact]
    public Task TakeAsync_MovesALargeTransferInGrantsNoLargerThanTheBucket_AtTheRate() => OffTestContext(async () =>
    {
        const long Rate = 100_000;
        const int Transfer = 1024 * 1024;
        var bucket = new TokenBucket(Rate, Capacity, _time);
        var grants = new List<int>();
        var start = _time.GetTimestamp();
        long end = 0;

        async Task TransferAsync()
        {
            var moved = 0;
            while (moved < Transfer)
            {
                // A tunnel asks for a whole chunk at a time, or for what is left.
                var granted = await bucket.TakeAsync(Math.Min(256 * 1024, Transfer - moved), CancellationToken.None);
                grants.Add(granted);
                moved += granted;
            }

            end = _time.GetTimestamp();
        }

        await AdvanceUntil(TransferAsync(), TimeSpan.FromMilliseconds(5), limit: TimeSpan.FromMinutes(1));

        Assert.Equal(Transfer, grants.Sum());
        Assert.All(grants, g => Assert.InRange(g, 1, Capacity));

        // The first bucketful goes at once; the rest takes as long as the rate needs, to within the step this test
        // moves the clock by.
        var elapsed = _time.GetElapsedTime(start, end);
        var expected = TimeSpan.FromSeconds((double)(Transfer - Capacity) / Rate);
        Assert.InRange(elapsed, expected, expected + TimeSpan.FromMilliseconds(10));
    });

    [Fact]
    public Task TakeAsync_WaitsForTheQuantum_NotForEveryByte() => OffTestContext(async () =>
    {
        var bucket = new TokenBucket(1_000_000, Capacity, _time);
        bucket.TryTake(Capacity, minimum: 1);

        var take = bucket.TakeAsync(Capacity, CancellationToken.None).AsTask();
        Assert.False(take.IsCompleted);

        // 1 MB/s: the quantum is 16 KiB (20 ms of the rate, capped), due after 17 ms; the bytes that refill before
        // then do not wake the move.
        for (var i = 0; i < 16; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.False(take.IsCompleted, $"Woke after {i + 1} ms.");
        }

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(take.IsCompleted);
        Assert.Equal(17_000, await take);
    });

    [Fact]
    public async Task TakeAsync_OnAnEmptyBucket_EndsWhenCancelled()
    {
        var bucket = new TokenBucket(1024, Capacity, _time);
        bucket.TryTake(Capacity, minimum: 1);
        using var cancellation = new CancellationTokenSource();

        var take = bucket.TakeAsync(1000, cancellation.Token).AsTask();
        Assert.False(take.IsCompleted);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => take);
        Assert.Equal(0, bucket.Available);
    }

    /// <summary>
    /// Runs <paramref name="test"/> on the thread pool, away from xUnit's synchronization context, so that a wait the
    /// fake clock ends continues inside <see cref="FakeTimeProvider.Advance"/>: the test then knows exactly when
    /// each wait ended, and the clock never runs ahead of the code under test.
    /// </summary>
    private static Task OffTestContext(Func<Task> test) => Task.Run(test);

    /// <summary>Moves the fake clock in steps until <paramref name="task"/> completes, failing past <paramref name="limit"/> of fake time.</summary>
    private Task AdvanceUntil(Task task, TimeSpan step, TimeSpan limit)
    {
        var start = _time.GetTimestamp();
        while (!task.IsCompleted)
        {
            Assert.True(_time.GetElapsedTime(start) < limit, $"Not done after {limit} of fake time.");
            _time.Advance(step);
        }

        return task;
    }
}
