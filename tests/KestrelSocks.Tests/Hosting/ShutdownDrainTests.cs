using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Hosting;
using KestrelSocks.Session;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Hosting;

/// <summary>The order of a drain, on a virtual clock: not ready, then listeners closed, then sessions awaited, then done.</summary>
public sealed class ShutdownDrainTests : IDisposable
{
    private static readonly TimeSpan _wait = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly TestMeterFactory _meterFactory = new();
    private readonly FakeLogger<ShutdownDrain> _logger = new();
    private readonly ShutdownSignal _signal = new();
    private int _sessions;
    private int _listenersClosed;
    private readonly TaskCompletionSource _noSessions = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task StoppingAsync_IsNotReadyAtOnce_ClosesListenersAfterTheDelay_ThenWaitsForTheLastSession()
    {
        using var draining = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.draining");
        var drain = CreateDrain(delay: TimeSpan.FromSeconds(5), timeout: TimeSpan.FromSeconds(30));
        _sessions = 2;
        Assert.False(drain.IsDraining);

        var stopping = drain.StoppingAsync(CancellationToken.None);

        // Readiness and the gauge change before anything else: the balancer's probe is what the delay waits for.
        Assert.True(drain.IsDraining);
        Assert.Equal(1, Assert.Single(draining.GetMeasurementSnapshot()).Value);
        Assert.Equal(0, _listenersClosed);
        Assert.False(_signal.IsSignalled);

        _time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.Equal(0, _listenersClosed);
        _time.Advance(TimeSpan.FromTicks(1));
        await WaitUntilAsync(() => _listenersClosed == 1);
        Assert.True(_signal.IsSignalled);
        Assert.False(stopping.IsCompleted);

        // The last session ends; the drain ends with it, with no more time passing.
        _sessions = 0;
        _noSessions.SetResult();
        await stopping.WaitAsync(_wait);

        Assert.Equal(1, _listenersClosed);
        Assert.False(_signal.IsAborted);
        Assert.Equal(
            [EventIds.Stopping, EventIds.ListenersClosed, EventIds.Drained],
            _logger.Collector.GetSnapshot().Select(r => r.Id.Id));
    }

    [Fact]
    public async Task StoppingAsync_SessionsOutlastTheTimeout_ReturnsAtTheTimeoutAndSaysHowManyAreLeft()
    {
        var drain = CreateDrain(delay: TimeSpan.Zero, timeout: TimeSpan.FromSeconds(30));
        _sessions = 3;

        var stopping = drain.StoppingAsync(CancellationToken.None);

        // No delay: the listeners close before the call returns.
        Assert.Equal(1, _listenersClosed);
        Assert.True(_signal.IsSignalled);
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(stopping.IsCompleted);
        Assert.False(_signal.IsAborted);
        _time.Advance(TimeSpan.FromSeconds(1));
        await stopping.WaitAsync(_wait);
        Assert.True(_signal.IsAborted);

        var last = _logger.LatestRecord;
        Assert.Equal(EventIds.DrainTimedOut, last.Id.Id);
        Assert.Contains("3 sessions still open", last.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoppingAsync_HostTimeoutDuringTheDelay_ClosesTheListenersAtOnceAndReturns()
    {
        var drain = CreateDrain(delay: TimeSpan.FromMinutes(5), timeout: TimeSpan.FromSeconds(30));
        _sessions = 1;
        using var host = new CancellationTokenSource();

        var stopping = drain.StoppingAsync(host.Token);
        Assert.Equal(0, _listenersClosed);
        await host.CancelAsync();
        await stopping.WaitAsync(_wait);

        Assert.Equal(1, _listenersClosed);
        Assert.True(_signal.IsSignalled);
        Assert.Equal(EventIds.DrainTimedOut, _logger.LatestRecord.Id.Id);
    }

    [Fact]
    public async Task StoppingAsync_NoSessions_EndsAsSoonAsTheListenersClose()
    {
        var drain = CreateDrain(delay: TimeSpan.Zero, timeout: TimeSpan.FromSeconds(30));

        await drain.StoppingAsync(CancellationToken.None).WaitAsync(_wait);

        Assert.Equal(1, _listenersClosed);
        Assert.Equal(EventIds.Drained, _logger.LatestRecord.Id.Id);
    }

    [Fact]
    public async Task StoppingAsync_CalledTwice_DrainsOnce()
    {
        var drain = CreateDrain(delay: TimeSpan.Zero, timeout: TimeSpan.FromSeconds(30));

        await drain.StoppingAsync(CancellationToken.None).WaitAsync(_wait);
        await drain.StoppingAsync(CancellationToken.None).WaitAsync(_wait);

        Assert.Equal(1, _listenersClosed);
    }

    [Fact]
    public void ShutdownTimeout_CoversTheDelayAndTheDrain()
    {
        var limits = new LimitsOptions { DrainDelay = TimeSpan.FromSeconds(5), DrainTimeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(TimeSpan.FromSeconds(35), ShutdownDrain.ShutdownTimeout(limits));
    }

    public void Dispose()
    {
        _signal.Dispose();
        _meterFactory.Dispose();
    }

    private ShutdownDrain CreateDrain(TimeSpan delay, TimeSpan timeout) =>
        new(new LimitsOptions { DrainDelay = delay, DrainTimeout = timeout },
            () => Volatile.Read(ref _sessions),
            () => _sessions == 0 ? Task.CompletedTask : _noSessions.Task,
            () => Interlocked.Increment(ref _listenersClosed),
            _signal,
            new SocksMetrics(_meterFactory),
            _time,
            _logger);

    /// <summary>A continuation after a virtual timer may run on another thread: wait for its effect, not for time.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + _wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The drain did not get there.");
            await Task.Delay(1);
        }
    }
}
