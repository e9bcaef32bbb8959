using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Session;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Hosting;

/// <summary>
/// The shutdown a load balancer understands, run before any service stops, while the admin endpoint still answers:
/// <list type="number">
/// <item>readiness turns false at once (<see cref="IsDraining"/>) and <c>kestrelsocks.draining</c> becomes 1;</item>
/// <item>after <c>Limits:DrainDelay</c> the SOCKS listeners close: new connections are refused, and sessions not yet
/// answered stop (<see cref="ShutdownSignal"/>);</item>
/// <item>open tunnels and UDP associations run until they end or <c>Limits:DrainTimeout</c> has passed;</item>
/// <item>then what is left is aborted (<see cref="ShutdownSignal.AbortToken"/>), the host stops, the admin endpoint
/// closes, and the process exits.</item>
/// </list>
/// </summary>
internal sealed class ShutdownDrain : IHostedLifecycleService
{
    private readonly TimeSpan _delay;
    private readonly TimeSpan _timeout;
    private readonly Func<int> _activeSessions;
    private readonly Func<Task> _whenNoSessions;
    private readonly Action _closeListeners;
    private readonly ShutdownSignal _signal;
    private readonly SocksMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private volatile bool _draining;

    public ShutdownDrain(LimitsOptions limits, Func<int> activeSessions, Func<Task> whenNoSessions, Action closeListeners, ShutdownSignal signal,
        SocksMetrics metrics, TimeProvider timeProvider, ILogger<ShutdownDrain> logger)
    {
        _delay = limits.DrainDelay;
        _timeout = limits.DrainTimeout;
        _activeSessions = activeSessions;
        _whenNoSessions = whenNoSessions;
        _closeListeners = closeListeners;
        _signal = signal;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>True from the start of shutdown: the readiness check reports it.</summary>
    public bool IsDraining => _draining;

    /// <summary>The host's shutdown timeout that lets the whole drain run: the delay, then the drain timeout.</summary>
    public static TimeSpan ShutdownTimeout(LimitsOptions limits) => limits.DrainDelay + limits.DrainTimeout;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_draining)
        {
            return;
        }

        _draining = true;
        _metrics.DrainStarted();
        HostingLog.Stopping(_logger, _delay, _timeout, _activeSessions());

        if (_delay > TimeSpan.Zero)
        {
            await WaitAsync(_delay, cancellationToken);
        }

        _closeListeners();
        _signal.Signal();
        HostingLog.ListenersClosed(_logger, _activeSessions(), _timeout);

        var started = _timeProvider.GetTimestamp();
        var drained = _whenNoSessions();
        if (!drained.IsCompleted)
        {
            using var timeout = new CancellationTokenSource(_timeout, _timeProvider);
            using var link = cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), timeout);
            await drained.WaitAsync(timeout.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (!drained.IsCompleted)
        {
            // Aborted here rather than by Kestrel when the host's timeout ends: the drain's end is its own, on its clock.
            HostingLog.DrainTimedOut(_logger, _activeSessions(), _timeout);
            _signal.Abort();
            return;
        }

        HostingLog.Drained(_logger, _timeProvider.GetElapsedTime(started));
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _timeProvider, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host ran out of time first: close the listeners now.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
