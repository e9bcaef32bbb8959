using System.Net;
using System.Runtime.CompilerServices;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Authentication;

/// <summary>
/// One RFC 1929 check as a session needs it: the client address's throttle first, then the password on the thread
/// pool with a bounded number of checks at once, then the outcome counted and logged. Waits (a delay, a turn) hold
/// no thread, so a flood of logins queues instead of taking every thread the proxy has.
/// </summary>
internal sealed class Authenticator : IDisposable
{
    private readonly UserStore _users;
    private readonly AuthenticationThrottle _throttle;
    private readonly SocksMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _logLimiter;
    private readonly SemaphoreSlim _verifications;

    public Authenticator(IOptions<KestrelSocksOptions> options, UserStore users, SocksMetrics metrics, TimeProvider timeProvider, ILogger<Authenticator> logger)
    {
        var authentication = options.Value.Authentication;
        _users = users;
        _throttle = new AuthenticationThrottle(authentication, timeProvider);
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = logger;
        _logLimiter = new LogRateLimiter(timeProvider, TimeSpan.FromSeconds(1), authentication.FailureLogsPerSecond);
        MaxConcurrentVerifications = authentication.MaxConcurrentVerifications > 0
            ? authentication.MaxConcurrentVerifications
            : Math.Max(1, Environment.ProcessorCount / 2);
        _verifications = new SemaphoreSlim(MaxConcurrentVerifications, MaxConcurrentVerifications);
    }

    public int MaxConcurrentVerifications { get; }

    internal AuthenticationThrottle Throttle => _throttle;

    /// <summary>
    /// Checks the credentials in <paramref name="credentials"/> and clears them. Null when they are refused; the
    /// caller answers status 01 and closes.
    /// </summary>
    public async ValueTask<UserIdentity?> AuthenticateAsync(StrongBox<UsernamePasswordRequest> credentials, IPAddress? client, CancellationToken cancellationToken)
    {
        try
        {
            var wait = TimeSpan.Zero;
            var verdict = client is null ? ThrottleVerdict.Proceed : _throttle.Admit(client, out wait);
            if (verdict == ThrottleVerdict.Delay)
            {
                await Task.Delay(wait, _timeProvider, cancellationToken);

                // A block may have begun while this attempt waited its turn.
                if (_throttle.IsBlocked(client!))
                {
                    verdict = ThrottleVerdict.Blocked;
                }
            }

            if (verdict == ThrottleVerdict.Blocked)
            {
                OnFailure(AuthFailureReason.Blocked, credentials, client);
                return null;
            }

            // A client that logged in a moment ago (a browser opening its next connection) skips the full check.
            var identity = _users.VerifyRecent(in credentials.Value);
            if (identity is null)
            {
                await _verifications.WaitAsync(cancellationToken);
                try
                {
                    // PBKDF2 at full cost takes a core for a fifth of a second: never on a socket engine thread.
                    identity = await Task.Run(() => _users.Verify(in credentials.Value), CancellationToken.None);
                }
                finally
                {
                    _verifications.Release();
                }
            }

            if (identity is not null)
            {
                if (client is not null)
                {
                    _throttle.RecordSuccess(client);
                }

                return identity;
            }

            OnFailure(verdict == ThrottleVerdict.Delay ? AuthFailureReason.Throttled : AuthFailureReason.Failed, credentials, client);
            if (client is not null && _throttle.RecordFailure(client, out var failures))
            {
                _metrics.ClientBlocked();
                AuthenticationLog.ClientBlocked(_logger, AuthenticationThrottle.Describe(client), _throttle.BlockDuration, failures);
            }

            return null;
        }
        finally
        {
            credentials.Value = default;
        }
    }

    public void Dispose() => _verifications.Dispose();

    private void OnFailure(AuthFailureReason reason, StrongBox<UsernamePasswordRequest> credentials, IPAddress? client)
    {
        _metrics.AuthenticationFailed(reason);
        if (_logger.IsEnabled(LogLevel.Information) && _logLimiter.TryAcquire(out var suppressed))
        {
            if (suppressed > 0)
            {
                AuthenticationLog.AuthenticationFailuresNotLogged(_logger, suppressed, _logLimiter.LinesPerInterval);
            }

            AuthenticationLog.AuthenticationFailed(_logger, LogText.Escape(credentials.Value.Username), client?.ToString() ?? "-",
                MetricNames.GetAuthFailureName(reason));
        }
    }
}
