using KestrelSocks.Protocol;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Limits;

public sealed class UserLimitsTests : IDisposable
{
    private readonly TestMeterFactory _meterFactory = new();
    private readonly FakeTimeProvider _time = new();
    private readonly FakeLogCollector _logs = new();

    public void Dispose() => _meterFactory.Dispose();

    [Fact]
    public void NoLimitSet_IsDisabled()
    {
        Assert.False(Create(_ => { }).Enabled);
        Assert.True(Create(o => o.MaxSessions = 1).Enabled);
        Assert.True(Create(o => o.MaxUdpAssociations = 1).Enabled);
        Assert.True(Create(o => o.Bandwidth = 1024).Enabled);
    }

    [Fact]
    public void MaxSessions_RefusesTheNextSessionOfThatUserOnly_UntilOneCloses()
    {
        using var refused = RefusalCollector();
        var limits = Create(o => o.MaxSessions = 2);

        var first = limits.TryOpenSession("alice", (byte)Socks5Command.Connect);
        var second = limits.TryOpenSession("alice", (byte)Socks5Command.Connect);
        Assert.NotNull(first);
        Assert.Same(first, second);

        Assert.Null(limits.TryOpenSession("alice", (byte)Socks5Command.Connect));
        Assert.NotNull(limits.TryOpenSession("bob", (byte)Socks5Command.Connect));

        first!.CloseSession();
        Assert.NotNull(limits.TryOpenSession("alice", (byte)Socks5Command.Connect));
        Assert.Null(limits.TryOpenSession("alice", (byte)Socks5Command.Connect));

        var measurements = refused.GetMeasurementSnapshot();
        Assert.Equal(2, measurements.Count);
        Assert.All(measurements, m => Assert.Equal("user_sessions", m.Tags[MetricNames.RefusalReasonTag]));
    }

    [Fact]
    public void UsernamesAreCountedExactly_CaseAndAllIncluded()
    {
        var limits = Create(o => o.MaxSessions = 1);

        Assert.NotNull(limits.TryOpenSession("alice", (byte)Socks5Command.Connect));
        Assert.NotNull(limits.TryOpenSession("Alice", (byte)Socks5Command.Connect));
        Assert.NotNull(limits.TryOpenSession("alice ", (byte)Socks5Command.Connect));
        Assert.Null(limits.TryOpenSession("alice", (byte)Socks5Command.Connect));
    }

    [Fact]
    public void AUsersEntry_GoesWhenTheirLastSessionCloses()
    {
        var limits = Create(o => o.MaxSessions = 5);
        var allowances = Enumerable.Range(0, 3).Select(_ => limits.TryOpenSession("alice", (byte)Socks5Command.Connect)!).ToList();
        limits.TryOpenSession("bob", (byte)Socks5Command.Connect)!.CloseSession();
        Assert.Equal(1, limits.Count);

        allowances[0].CloseSession();
        allowances[1].CloseSession();
        Assert.Equal(1, limits.Count);
        allowances[2].CloseSession();

        Assert.Equal(0, limits.Count);
    }

    [Fact]
    public void ManyUsersComingAndGoing_LeaveNoEntryBehind()
    {
        var limits = Create(o => o.Bandwidth = 1024);
        var open = new List<UserAllowance>();
        for (var i = 0; i < 10_000; i++)
        {
            open.Add(limits.TryOpenSession($"user{i % 500}", (byte)Socks5Command.Connect)!);
            if (open.Count > 50)
            {
                open[0].CloseSession();
                open.RemoveAt(0);
            }
        }

        Assert.InRange(limits.Count, 1, 51);
        foreach (var allowance in open)
        {
            allowance.CloseSession();
        }

        Assert.Equal(0, limits.Count);
    }

    [Fact]
    public void MaxUdpAssociations_CountsAcrossSessions_AndASlotReleasedTwiceCountsOnce()
    {
        using var refused = RefusalCollector();
        var limits = Create(o => o.MaxUdpAssociations = 2);
        var one = limits.TryOpenSession("alice", (byte)Socks5Command.Connect)!;
        var two = limits.TryOpenSession("alice", (byte)Socks5Command.Connect)!;

        var a = one.TryOpenUdpAssociation();
        var b = two.TryOpenUdpAssociation();
        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.Null(one.TryOpenUdpAssociation());
        Assert.NotNull(limits.TryOpenSession("bob", (byte)Socks5Command.Connect)!.TryOpenUdpAssociation());

        a!.Release();
        a.Release();
        Assert.NotNull(two.TryOpenUdpAssociation());
        Assert.Null(two.TryOpenUdpAssociation());

        var measurements = refused.GetMeasurementSnapshot();
        Assert.Equal(2, measurements.Count);
        Assert.All(measurements, m => Assert.Equal("user_udp_associations", m.Tags[MetricNames.RefusalReasonTag]));
    }

    [Fact]
    public void AnEntryWithAnOpenAssociation_StaysAfterItsSessionsClose_AndGoesWithTheAssociation()
    {
        var limits = Create(o => o.MaxUdpAssociations = 1);
        var session = limits.TryOpenSession("alice", (byte)Socks5Command.Connect)!;
        var slot = session.TryOpenUdpAssociation()!;

        session.CloseSession();
        Assert.Equal(1, limits.Count);

        slot.Release();
        Assert.Equal(0, limits.Count);
    }

    [Fact]
    public void Bandwidth_GivesEachUserOneBucketPerDirection_SharedByAllTheirSessions()
    {
        var limits = Create(o =>
        {
            o.Bandwidth = 2_000_000;
            o.BandwidthBurst = 100_000;
        });

        var alice = limits.TryOpenSession("alice", (byte)Socks5Command.Connect)!;
        var aliceAgain = limits.TryOpenSession("alice", (byte)Socks5Command.Connect)!;
        var bob = limits.TryOpenSession("bob", (byte)Socks5Command.Connect)!;

        Assert.NotNull(alice.Upstream);
        Assert.NotNull(alice.Downstream);
        Assert.NotSame(alice.Upstream, alice.Downstream);
        Assert.Same(alice.Upstream, aliceAgain.Upstream);
        Assert.NotSame(alice.Upstream, bob.Upstream);
        Assert.Equal(2_000_000, alice.Upstream!.BytesPerSecond);
        Assert.Equal(100_000, alice.Upstream.Capacity);

        // One session's bytes are the other's too.
        Assert.Equal(100_000, alice.Upstream.TryTake(int.MaxValue, minimum: 1));
        Assert.False(aliceAgain.Upstream!.TryTake(1));
        Assert.True(bob.Upstream!.TryTake(1));
        Assert.True(alice.Downstream!.TryTake(1));
    }

    [Fact]
    public void WithoutBandwidth_ThereAreNoBuckets()
    {
        var allowance = Create(o => o.MaxSessions = 3).TryOpenSession("alice", (byte)Socks5Command.Connect)!;

        Assert.Null(allowance.Upstream);
        Assert.Null(allowance.Downstream);
    }

    [Fact]
    public void Refusals_AreLoggedOncePerMinutePerUser_WithTheCountAndTheNameEscaped()
    {
        var limits = Create(o => o.MaxSessions = 1);
        const string User = "eve\n[warn] forged";
        limits.TryOpenSession(User, (byte)Socks5Command.Connect);

        limits.TryOpenSession(User, (byte)Socks5Command.Connect);
        limits.TryOpenSession(User, (byte)Socks5Command.Connect);
        limits.TryOpenSession(User, (byte)Socks5Command.Connect);
        var first = Assert.Single(_logs.GetSnapshot());
        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.Equal(EventIds.UserSessionLimitReached, first.Id.Id);
        Assert.Contains(@"eve\n[warn] forged", first.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', first.Message);
        Assert.Contains("(1 refused", first.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(1));
        limits.TryOpenSession(User, (byte)Socks5Command.Connect);

        var logs = _logs.GetSnapshot();
        Assert.Equal(2, logs.Count);
        Assert.Contains("(3 refused", logs[1].Message, StringComparison.Ordinal);
    }

    private UserLimits Create(Action<UserLimitsOptions> configure)
    {
        var options = new KestrelSocksOptions();
        configure(options.Limits.PerUser);
        var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(new FakeLoggerProvider(_logs)));
        return new UserLimits(Options.Create(options), new SocksMetrics(_meterFactory), _time, loggerFactory);
    }

    private MetricCollector<long> RefusalCollector() => new(_meterFactory, MetricNames.MeterName, "kestrelsocks.requests.refused");
}
