using KestrelSocks.Sockets;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Sockets;

/// <summary>
/// Kernel pipes shared by splicing tunnels. Linux only: elsewhere each test returns at once, since the pool is never
/// built there. The tests count the process's descriptors, so they run alone.
/// </summary>
[Collection(FileDescriptorCollection.Name)]
public sealed class SplicePipePoolTests
{
    [Fact]
    public void Rent_EmptyPool_CreatesAPipe()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        using var pool = new SplicePipePool(maxPooled: 4);

        var pipe = Rent(pool);

        Assert.NotEqual(pipe.Read, pipe.Write);
        var readTarget = FileDescriptors.Target(pipe.Read);
        Assert.NotNull(readTarget);
        Assert.StartsWith("pipe:[", readTarget, StringComparison.Ordinal);

        // Both ends name the same pipe.
        Assert.Equal(readTarget, FileDescriptors.Target(pipe.Write));
        Assert.Equal(1, pool.Outstanding);
        pool.Return(pipe, isEmpty: true);
    }

    [Fact]
    public void Return_Empty_PoolsThePipeForTheNextRent()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        using var pool = new SplicePipePool(maxPooled: 4);
        var first = Rent(pool);
        var target = FileDescriptors.Target(first.Read);

        pool.Return(first, isEmpty: true);
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(target, FileDescriptors.Target(first.Read));

        var second = Rent(pool);
        Assert.Equal(first, second);
        Assert.Equal(target, FileDescriptors.Target(second.Read));
        Assert.Equal(1, pool.Outstanding);
        pool.Return(second, isEmpty: true);
    }

    [Fact]
    public void RentAndReturnMany_OutstandingGoesBackToZero()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        using var pool = new SplicePipePool(maxPooled: 8);

        var pipes = new List<(int Read, int Write)>();
        for (var i = 0; i < 5; i++)
        {
            pipes.Add(Rent(pool));
        }

        Assert.Equal(5, pool.Outstanding);
        Assert.Equal(10, pipes.SelectMany(pipe => new[] { pipe.Read, pipe.Write }).Distinct().Count());

        foreach (var pipe in pipes)
        {
            pool.Return(pipe, isEmpty: true);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Return_NotEmpty_ClosesThePipeInsteadOfPoolingIt()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        using var pool = new SplicePipePool(maxPooled: 4);
        var baseline = FileDescriptors.Count();
        var pipe = Rent(pool);
        var target = FileDescriptors.Target(pipe.Read);
        Assert.Equal(baseline + 2, FileDescriptors.Count());

        pool.Return(pipe, isEmpty: false);

        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(baseline, FileDescriptors.Count());
        Assert.NotEqual(target, FileDescriptors.Target(pipe.Read));
        Assert.NotEqual(target, FileDescriptors.Target(pipe.Write));

        // Nothing was pooled: the next rent makes a new pipe (the kernel may hand out the same numbers again).
        var next = Rent(pool);
        Assert.NotEqual(target, FileDescriptors.Target(next.Read));
        pool.Return(next, isEmpty: true);
    }

    [Fact]
    public void Return_PastMaxPooled_ClosesTheExtraPipe()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        using var pool = new SplicePipePool(maxPooled: 1);
        var kept = Rent(pool);
        var extra = Rent(pool);
        var keptTarget = FileDescriptors.Target(kept.Read);
        var extraTarget = FileDescriptors.Target(extra.Read);

        pool.Return(kept, isEmpty: true);
        pool.Return(extra, isEmpty: true);

        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(keptTarget, FileDescriptors.Target(kept.Read));
        Assert.NotEqual(extraTarget, FileDescriptors.Target(extra.Read));
        Assert.NotEqual(extraTarget, FileDescriptors.Target(extra.Write));
        var again = Rent(pool);
        Assert.Equal(kept, again);
        pool.Return(again, isEmpty: true);
    }

    [Fact]
    public void Return_NotEmpty_DoesNotUseUpThePoolBound()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        using var pool = new SplicePipePool(maxPooled: 1);
        var dirty = Rent(pool);
        var clean = Rent(pool);

        pool.Return(dirty, isEmpty: false);
        pool.Return(clean, isEmpty: true);

        // The closed pipe took no pooled place, so the clean one was kept.
        var cleanTarget = FileDescriptors.Target(clean.Read);
        Assert.NotNull(cleanTarget);
        Assert.Equal(clean, Rent(pool));
        pool.Return(clean, isEmpty: true);
    }

    [Fact]
    public void Dispose_ClosesPooledPipes()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var baseline = FileDescriptors.Count();
        var pool = new SplicePipePool(maxPooled: 8);
        var pipes = new List<(int Read, int Write)>();
        var targets = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            var pipe = Rent(pool);
            pipes.Add(pipe);
            targets.Add(FileDescriptors.Target(pipe.Read));
        }

        foreach (var pipe in pipes)
        {
            pool.Return(pipe, isEmpty: true);
        }

        Assert.Equal(baseline + 6, FileDescriptors.Count());

        pool.Dispose();

        Assert.Equal(baseline, FileDescriptors.Count());
        for (var i = 0; i < pipes.Count; i++)
        {
            Assert.NotEqual(targets[i], FileDescriptors.Target(pipes[i].Read));
            Assert.NotEqual(targets[i], FileDescriptors.Target(pipes[i].Write));
        }
    }

    [Fact]
    public void ManyCycles_HoldNoMoreDescriptorsThanThePool()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var baseline = FileDescriptors.Count();
        using (var pool = new SplicePipePool(maxPooled: 2))
        {
            for (var i = 0; i < 200; i++)
            {
                var first = Rent(pool);
                var second = Rent(pool);
                var third = Rent(pool);
                pool.Return(first, isEmpty: true);
                pool.Return(second, isEmpty: i % 2 == 0);
                pool.Return(third, isEmpty: true);
            }

            Assert.Equal(0, pool.Outstanding);
            Assert.Equal(baseline + 4, FileDescriptors.Count());
        }

        Assert.Equal(baseline, FileDescriptors.Count());
    }

    [Fact]
    public void Budget_EveryPipeHoldsTwoDescriptors_AndNoNewPipePastIt()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var budget = new DescriptorBudget(capacity: 5, processLimit: 0, reserve: 0, openAtStart: 0);
        using (var pool = new SplicePipePool(maxPooled: 1, budget))
        {
            var first = Rent(pool);
            var second = Rent(pool);
            Assert.Equal(4, budget.InUse);

            // A third pipe needs two more than the one left.
            Assert.False(pool.TryRent(out _));
            Assert.Equal(4, budget.InUse);
            Assert.Equal(2, pool.Outstanding);

            // One goes back to the pool and keeps its share; the other is closed and gives its share back.
            pool.Return(first, isEmpty: true);
            pool.Return(second, isEmpty: true);
            Assert.Equal(2, budget.InUse);

            // The pooled pipe needs nothing new.
            Assert.True(budget.TryTake(3));
            var pooled = Rent(pool);
            pool.Return(pooled, isEmpty: false);
            budget.Return(3);
            Assert.Equal(0, budget.InUse);

            var last = Rent(pool);
            Assert.Equal(2, budget.InUse);
            pool.Return(last, isEmpty: true);
        }

        // Disposing closes what was pooled.
        Assert.Equal(0, budget.InUse);
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static (int Read, int Write) Rent(SplicePipePool pool)
    {
        Assert.True(pool.TryRent(out var pipe));
        return pipe;
    }
}
