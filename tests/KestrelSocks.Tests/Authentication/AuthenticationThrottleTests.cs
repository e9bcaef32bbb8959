using System.Net;
using KestrelSocks.Authentication;
using KestrelSocks.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Authentication;

public sealed class AuthenticationThrottleTests
{
    private static readonly IPAddress _guesser = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress _neighbour = IPAddress.Parse("203.0.113.8");

    private readonly FakeTimeProvider _time = new();
    private readonly AuthenticationOptions _options = new()
    {
        FailuresBeforeDelay = 3,
        FailureDelay = TimeSpan.FromSeconds(1),
        MaxFailureDelay = TimeSpan.FromSeconds(5),
        FailuresBeforeBlock = 8,
        BlockDuration = TimeSpan.FromMinutes(5),
        FailureWindow = TimeSpan.FromMinutes(15),
    };

    [Fact]
    public void FirstFailures_AreNotDelayed_ThenTheDelayDoublesUpToTheCap()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        var waits = new List<TimeSpan>();

        for (var attempt = 0; attempt < 7; attempt++)
        {
            var verdict = throttle.Admit(_guesser, out var wait);
            Assert.Equal(wait == TimeSpan.Zero ? ThrottleVerdict.Proceed : ThrottleVerdict.Delay, verdict);
            waits.Add(wait);
            _time.Advance(wait);
            Assert.False(throttle.RecordFailure(_guesser, out _));
        }

        Assert.Equal([0, 0, 0, 1, 2, 4, 5], waits.Select(w => w.TotalSeconds));
    }

    [Fact]
    public void ParallelAttempts_QueueBehindEachOther()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, _guesser, 3);

        throttle.Admit(_guesser, out var first);
        throttle.Admit(_guesser, out var second);
        throttle.Admit(_guesser, out var third);

        Assert.Equal([1, 2, 3], new[] { first, second, third }.Select(w => w.TotalSeconds));
    }

    [Fact]
    public void FailuresBeforeBlock_BlocksForTheBlockDuration_ThenTheAddressIsDelayedAgain()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, _guesser, 7);

        Assert.True(throttle.RecordFailure(_guesser, out var failures));
        Assert.Equal(8, failures);
        Assert.Equal(ThrottleVerdict.Blocked, throttle.Admit(_guesser, out _));
        Assert.True(throttle.IsBlocked(_guesser));
        Assert.Equal(ThrottleVerdict.Proceed, throttle.Admit(_neighbour, out _));

        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1));
        Assert.Equal(ThrottleVerdict.Blocked, throttle.Admit(_guesser, out _));

        _time.Advance(TimeSpan.FromTicks(1));
        Assert.False(throttle.IsBlocked(_guesser));
        Assert.Equal(ThrottleVerdict.Delay, throttle.Admit(_guesser, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);

        // It starts again from FailuresBeforeDelay, not from zero: five more failures block it again.
        _time.Advance(wait);
        FailTimes(throttle, _guesser, 4);
        Assert.True(throttle.RecordFailure(_guesser, out _));
    }

    [Fact]
    public void FailureDuringABlock_DoesNotExtendIt()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, _guesser, 8);
        _time.Advance(TimeSpan.FromMinutes(1));

        // An attempt that was already being checked when the block began.
        Assert.False(throttle.RecordFailure(_guesser, out _));

        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.False(throttle.IsBlocked(_guesser));
    }

    [Fact]
    public void Success_ResetsTheCount()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, _guesser, 5);

        throttle.RecordSuccess(_guesser);

        Assert.Equal(ThrottleVerdict.Proceed, throttle.Admit(_guesser, out _));
        Assert.Equal(0, throttle.Count);
        FailTimes(throttle, _guesser, 3);
        Assert.Equal(ThrottleVerdict.Delay, throttle.Admit(_guesser, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
    }

    [Fact]
    public void FailuresOlderThanTheWindow_AreForgotten()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, _guesser, 5);

        _time.Advance(TimeSpan.FromMinutes(15));

        Assert.Equal(ThrottleVerdict.Proceed, throttle.Admit(_guesser, out _));
        Assert.Equal(0, throttle.Count);
    }

    [Fact]
    public void StaleRecords_GoAsNewFailuresArrive()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, IPAddress.Parse("192.0.2.1"), 1);
        FailTimes(throttle, IPAddress.Parse("192.0.2.2"), 1);
        _time.Advance(TimeSpan.FromMinutes(16));

        FailTimes(throttle, _guesser, 1);

        Assert.Equal(1, throttle.Count);
    }

    [Fact]
    public void Ipv6Clients_AreCountedByTheirSlash64()
    {
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, IPAddress.Parse("2001:db8:1:2::1"), 2);
        FailTimes(throttle, IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff"), 1);

        Assert.Equal(ThrottleVerdict.Delay, throttle.Admit(IPAddress.Parse("2001:db8:1:2:abcd::9"), out _));
        Assert.Equal(ThrottleVerdict.Proceed, throttle.Admit(IPAddress.Parse("2001:db8:1:3::1"), out _));
        Assert.Equal(1, throttle.Count);
    }

    [Fact]
    public void Ipv4MappedClients_AreTheirIpv4Address()
    {
        Assert.Equal(AuthenticationThrottle.GetKey(_guesser), AuthenticationThrottle.GetKey(_guesser.MapToIPv6()));
        Assert.NotEqual(AuthenticationThrottle.GetKey(_guesser), AuthenticationThrottle.GetKey(_neighbour));
        Assert.NotEqual(AuthenticationThrottle.GetKey(IPAddress.Parse("0.0.0.0")), AuthenticationThrottle.GetKey(IPAddress.IPv6Any));
        Assert.Equal("203.0.113.7", AuthenticationThrottle.Describe(_guesser.MapToIPv6()));
        Assert.Equal("2001:db8:1:2::/64", AuthenticationThrottle.Describe(IPAddress.Parse("2001:db8:1:2::99")));
    }

    [Fact]
    public void Table_IsBounded_TheLeastRecentlyFailedGoingFirst()
    {
        _options.MaxTrackedClients = 3;
        var throttle = new AuthenticationThrottle(_options, _time);
        FailTimes(throttle, IPAddress.Parse("192.0.2.1"), 3);
        FailTimes(throttle, IPAddress.Parse("192.0.2.2"), 3);
        FailTimes(throttle, IPAddress.Parse("192.0.2.3"), 3);

        // .1 fails again, so .2 is now the least recently failed.
        FailTimes(throttle, IPAddress.Parse("192.0.2.1"), 1);
        FailTimes(throttle, IPAddress.Parse("192.0.2.4"), 3);

        Assert.Equal(3, throttle.Count);
        Assert.Equal(ThrottleVerdict.Proceed, throttle.Admit(IPAddress.Parse("192.0.2.2"), out _));
        Assert.Equal(ThrottleVerdict.Delay, throttle.Admit(IPAddress.Parse("192.0.2.1"), out _));
        Assert.Equal(ThrottleVerdict.Delay, throttle.Admit(IPAddress.Parse("192.0.2.3"), out _));
        Assert.Equal(ThrottleVerdict.Delay, throttle.Admit(IPAddress.Parse("192.0.2.4"), out _));

        for (var i = 0; i < 1000; i++)
        {
            FailTimes(throttle, new IPAddress([198, 51, (byte)(i >> 8), (byte)i]), 1);
        }

        Assert.Equal(3, throttle.Count);
    }

    private static void FailTimes(AuthenticationThrottle throttle, IPAddress client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            throttle.RecordFailure(client, out _);
        }
    }
}
