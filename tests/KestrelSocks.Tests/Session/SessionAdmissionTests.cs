using System.Net;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Session;
using KestrelSocks.Sockets;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace KestrelSocks.Tests.Session;

public sealed class SessionAdmissionTests : IDisposable
{
    private static readonly IPAddress _alice = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress _bob = IPAddress.Parse("192.0.2.2");

    private readonly FakeTimeProvider _time = new();
    private readonly List<SessionAdmission> _owned = [];

    public void Dispose()
    {
        foreach (var admission in _owned)
        {
            admission.Dispose();
        }
    }

    [Fact]
    public void SessionLimit_RefusesPastIt_AndFreesTheSlotWhenASessionEnds()
    {
        var admission = Create(limits => limits.MaxConcurrentSessions = 2);
        var first = Admit(admission, _alice);
        Admit(admission, _bob);

        Assert.Equal(ConnectionRejectReason.SessionLimit, admission.TryAdmit(_alice, out var refused));
        Assert.Null(refused);

        first.Dispose();
        Admit(admission, _alice);
        Assert.Equal(2, admission.ActiveSessions);
    }

    [Fact]
    public async Task WhenNoSessions_CompletesAtOnceWhenIdle_ElseWithTheLastSession()
    {
        var admission = Create(_ => { });
        Assert.True(admission.WhenNoSessionsAsync().IsCompleted);

        var first = Admit(admission, _alice);
        var second = Admit(admission, _bob);
        var drained = admission.WhenNoSessionsAsync();
        Assert.False(drained.IsCompleted);

        first.Dispose();
        Assert.False(drained.IsCompleted);
        second.Dispose();
        await drained.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void HandshakeLimits_CountOnlyConnectionsStillInTheirHandshake()
    {
        var admission = Create(limits =>
        {
            limits.MaxHandshakes = 3;
            limits.MaxHandshakesPerClient = 2;
        });
        var a1 = Admit(admission, _alice);
        Admit(admission, _alice);

        // Alice has two handshakes open: her third waits its turn, Bob's first does not.
        Assert.Equal(ConnectionRejectReason.ClientHandshakeLimit, admission.TryAdmit(_alice, out _));
        Admit(admission, _bob);
        Assert.Equal(ConnectionRejectReason.HandshakeLimit, admission.TryAdmit(_bob, out _));

        // A finished handshake makes room in both counts; the session itself stays.
        a1.EndHandshake();
        a1.EndHandshake();
        Assert.Equal(2, admission.ActiveHandshakes);
        Admit(admission, _alice);
        Assert.Equal(4, admission.ActiveSessions);
        Assert.Equal(3, admission.ActiveHandshakes);
    }

    [Fact]
    public void ClientSessionLimit_HoldsOneClientBack_AndNoOther()
    {
        var admission = Create(limits => limits.MaxSessionsPerClient = 2);
        var first = Admit(admission, _alice);
        first.EndHandshake();
        Admit(admission, _alice).EndHandshake();

        Assert.Equal(ConnectionRejectReason.ClientSessionLimit, admission.TryAdmit(_alice, out _));
        Admit(admission, _bob);

        first.Dispose();
        Admit(admission, _alice);
    }

    [Fact]
    public void Ipv6Clients_CountByTheirSlash64()
    {
        var admission = Create(limits => limits.MaxSessionsPerClient = 1);
        Admit(admission, IPAddress.Parse("2001:db8:1:2::1"));

        Assert.Equal(ConnectionRejectReason.ClientSessionLimit, admission.TryAdmit(IPAddress.Parse("2001:db8:1:2:ffff::9"), out _));
        Admit(admission, IPAddress.Parse("2001:db8:1:3::1"));

        // An IPv4-mapped address is the IPv4 client.
        Admit(admission, _alice);
        Assert.Equal(ConnectionRejectReason.ClientSessionLimit, admission.TryAdmit(_alice.MapToIPv6(), out _));
    }

    [Fact]
    public void ClientRate_AllowsTheBurst_ThenTheRate()
    {
        var admission = Create(limits =>
        {
            limits.NewSessionsPerClientPerSecond = 2;
            limits.NewSessionsPerClientBurst = 4;
        });
        for (var i = 0; i < 4; i++)
        {
            Admit(admission, _alice).Dispose();
        }

        Assert.Equal(ConnectionRejectReason.ClientRateLimit, admission.TryAdmit(_alice, out _));
        Admit(admission, _bob).Dispose();

        // Half a second earns one more at two a second; no more.
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Admit(admission, _alice).Dispose();
        Assert.Equal(ConnectionRejectReason.ClientRateLimit, admission.TryAdmit(_alice, out _));

        // A long pause refills to the burst, not past it.
        _time.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 4; i++)
        {
            Admit(admission, _alice).Dispose();
        }

        Assert.Equal(ConnectionRejectReason.ClientRateLimit, admission.TryAdmit(_alice, out _));
    }

    [Fact]
    public void ClientRate_ZeroTurnsItOff()
    {
        var admission = Create(limits => limits.NewSessionsPerClientPerSecond = 0);
        for (var i = 0; i < 10_000; i++)
        {
            Admit(admission, _alice).Dispose();
        }
    }

    [Fact]
    public void DescriptorBudget_IsTakenLast_AndGivenBackWithEverythingTheSessionHeld()
    {
        var budget = new DescriptorBudget(capacity: 4, processLimit: 0, reserve: 0, openAtStart: 0);
        var admission = Create(limits => limits.MaxSessionsPerClient = 1, budget);
        var session = Admit(admission, _alice);
        Assert.Equal(1, budget.InUse);

        // A refusal for the client's own limit takes nothing from the budget.
        Assert.Equal(ConnectionRejectReason.ClientSessionLimit, admission.TryAdmit(_alice, out _));
        Assert.Equal(1, budget.InUse);

        Assert.True(session.TryTakeDescriptors(2));
        Assert.False(session.TryTakeDescriptors(2));
        Admit(admission, _bob);
        Assert.Equal(ConnectionRejectReason.DescriptorBudget, admission.TryAdmit(IPAddress.Parse("192.0.2.3"), out _));

        // The session's end gives back what it opened; the client's own socket is given back when the transport
        // has closed it, which may be a second later.
        session.Dispose();
        session.Dispose();
        Assert.Equal(2, budget.InUse);
        session.ConnectionClosed();
        session.ConnectionClosed();
        Assert.Equal(1, budget.InUse);
        Assert.Equal(1, admission.ActiveSessions);
        Assert.Equal(1, admission.ActiveHandshakes);
    }

    [Fact]
    public void Associations_CountPerClientOverAllItsSessions_AndAreGivenBackOnce()
    {
        var admission = Create(limits => { }, udp: udp => udp.MaxAssociationsPerClient = 3);
        var first = Admit(admission, _alice);
        var second = Admit(admission, _alice);
        Assert.True(first.TryAddAssociation());
        Assert.True(first.TryAddAssociation());
        Assert.True(second.TryAddAssociation());
        Assert.False(second.TryAddAssociation());

        var other = Admit(admission, _bob);
        Assert.True(other.TryAddAssociation());

        // One ends; then the session ends with one still counted, and a late end of that one changes nothing.
        first.RemoveAssociation();
        Assert.True(second.TryAddAssociation());
        first.Dispose();
        first.RemoveAssociation();
        Assert.True(second.TryAddAssociation());
        Assert.False(second.TryAddAssociation());
        second.RemoveAssociation();
        Assert.True(second.TryAddAssociation());
    }

    [Fact]
    public void Sweep_ForgetsIdleClients_OnlyOnceTheirRateHasRefilled()
    {
        var admission = Create(limits =>
        {
            limits.NewSessionsPerClientPerSecond = 1;
            limits.NewSessionsPerClientBurst = 2;
        });
        var open = Admit(admission, _alice);
        Admit(admission, _bob).Dispose();
        Assert.Equal(2, admission.TrackedClients);

        admission.Sweep();
        Assert.Equal(2, admission.TrackedClients);

        // Bob's allowance refills after a second; Alice still has a session open.
        _time.Advance(TimeSpan.FromSeconds(1));
        admission.Sweep();
        Assert.Equal(1, admission.TrackedClients);

        open.Dispose();
        admission.Sweep();
        Assert.Equal(0, admission.TrackedClients);

        // A forgotten client starts again with its full burst.
        Admit(admission, _alice).Dispose();
        Admit(admission, _alice).Dispose();
        Assert.Equal(ConnectionRejectReason.ClientRateLimit, admission.TryAdmit(_alice, out _));
    }

    private static AdmissionTicket Admit(SessionAdmission admission, IPAddress client)
    {
        Assert.Null(admission.TryAdmit(client, out var ticket));
        return Assert.IsType<AdmissionTicket>(ticket);
    }

    private SessionAdmission Create(Action<LimitsOptions> limits, DescriptorBudget? budget = null, Action<UdpOptions>? udp = null)
    {
        var options = new KestrelSocksOptions();
        options.Limits.NewSessionsPerClientPerSecond = 0;
        limits(options.Limits);
        udp?.Invoke(options.Udp);
        var admission = new SessionAdmission(Options.Create(options), budget ?? new DescriptorBudget(1_000_000, 0, 0, 0), _time);
        _owned.Add(admission);
        return admission;
    }
}
