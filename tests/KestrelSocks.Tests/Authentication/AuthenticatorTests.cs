using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using KestrelSocks.Authentication;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Authentication;

public sealed class AuthenticatorTests : IDisposable
{
    private static readonly IPAddress _client = IPAddress.Parse("198.51.100.9");

    private readonly TestMeterFactory _meterFactory = new();
    private readonly FakeTimeProvider _time = new();
    private readonly KestrelSocksOptions _options = new();
    private int _derivations;
    private Func<Task>? _duringDerivation;

    public AuthenticatorTests()
    {
        _options.Authentication.HashIterations = PasswordHash.MinIterations;
        _options.Authentication.Users.Add(new SocksUser { Username = "alice", Password = "secret", Groups = ["ops"] });
    }

    public void Dispose() => _meterFactory.Dispose();

    [Fact]
    public async Task RightCredentials_GiveTheIdentity_AndClearTheBox()
    {
        using var authenticator = Create();
        var credentials = Credentials("alice", "secret");

        var identity = await authenticator.AuthenticateAsync(credentials, _client, CancellationToken.None);

        Assert.Equal("alice", identity?.Name);
        Assert.Equal(["ops"], identity!.Groups);
        Assert.True(credentials.Value.Username.IsEmpty && credentials.Value.Password.IsEmpty);
    }

    [Fact]
    public async Task BlockedAddress_IsRefusedWithoutAPasswordCheck_AndCounted()
    {
        _options.Authentication.FailuresBeforeDelay = 10;
        _options.Authentication.FailuresBeforeBlock = 2;
        using var authenticator = Create();
        using var failures = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.auth.failures");
        using var blocks = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.auth.blocks");
        Assert.Null(await authenticator.AuthenticateAsync(Credentials("alice", "wrong"), _client, CancellationToken.None));
        Assert.Null(await authenticator.AuthenticateAsync(Credentials("mallory", "wrong"), _client, CancellationToken.None));
        var checkedSoFar = _derivations;

        Assert.Null(await authenticator.AuthenticateAsync(Credentials("alice", "secret"), _client, CancellationToken.None));

        Assert.Equal(checkedSoFar, _derivations);
        Assert.Equal(["failed", "failed", "blocked"], failures.GetMeasurementSnapshot().Select(m => (string)m.Tags[MetricNames.AuthFailureTag]!));
        Assert.Equal(1, blocks.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.NotNull(await authenticator.AuthenticateAsync(Credentials("alice", "secret"), IPAddress.Loopback, CancellationToken.None));
    }

    [Fact]
    public async Task DelayedAttempt_WaitsOnTheTimeProvider_ThenIsCheckedAndCountedAsThrottled()
    {
        _options.Authentication.FailuresBeforeDelay = 1;
        using var authenticator = Create();
        using var failures = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.auth.failures");
        Assert.Null(await authenticator.AuthenticateAsync(Credentials("alice", "wrong"), _client, CancellationToken.None));
        var checkedSoFar = _derivations;

        var attempt = authenticator.AuthenticateAsync(Credentials("alice", "wrong"), _client, CancellationToken.None).AsTask();

        Assert.False(attempt.IsCompleted);
        Assert.Equal(checkedSoFar, _derivations);
        _time.Advance(_options.Authentication.FailureDelay);
        Assert.Null(await attempt.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(checkedSoFar + 1, _derivations);
        Assert.Equal("throttled", failures.GetMeasurementSnapshot()[^1].Tags[MetricNames.AuthFailureTag]);
    }

    [Fact]
    public async Task VerificationsAtOnce_AreBounded_AndAWaitingOneCanBeCancelled()
    {
        _options.Authentication.MaxConcurrentVerifications = 1;
        using var authenticator = Create();
        var inside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _duringDerivation = () =>
        {
            inside.TrySetResult();
            return gate.Task;
        };

        var first = authenticator.AuthenticateAsync(Credentials("alice", "secret"), _client, CancellationToken.None).AsTask();
        await inside.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var cancel = new CancellationTokenSource();
        var second = authenticator.AuthenticateAsync(Credentials("alice", "secret"), IPAddress.Loopback, cancel.Token).AsTask();
        cancel.Cancel();

        // Had the second got past the bound, it would be stuck in the derivation behind the closed gate.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(first.IsCompleted);
        gate.SetResult();
        Assert.NotNull(await first.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void MaxConcurrentVerifications_DefaultsToHalfTheProcessors()
    {
        using var authenticator = Create();

        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), authenticator.MaxConcurrentVerifications);
    }

    private static StrongBox<UsernamePasswordRequest> Credentials(string username, string password) =>
        new(new UsernamePasswordRequest(Encoding.UTF8.GetBytes(username), Encoding.UTF8.GetBytes(password)));

    private Authenticator Create()
    {
        var options = Options.Create(_options);
        var users = new UserStore(options, new HostingEnvironment { ContentRootPath = AppContext.BaseDirectory }, _time,
            NullLogger.Instance, (password, salt, destination, iterations) =>
            {
                Interlocked.Increment(ref _derivations);
                _duringDerivation?.Invoke().GetAwaiter().GetResult();
                Pbkdf2.Sha256(password, salt, destination, iterations);
            });
        Interlocked.Exchange(ref _derivations, 0);
        return new Authenticator(options, users, new SocksMetrics(_meterFactory), _time, NullLogger<Authenticator>.Instance);
    }
}
