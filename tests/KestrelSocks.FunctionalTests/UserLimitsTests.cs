using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Limits:PerUser: sessions and UDP associations per authenticated user, and each user's bandwidth.</summary>
public sealed class UserLimitsTests
{
    private const string Password = "per-user limits";

    internal static readonly string[] s_users =
    [
        "--KestrelSocks:Authentication:UsernamePassword=true",
        "--KestrelSocks:Authentication:Users:0:Username=alice",
        $"--KestrelSocks:Authentication:Users:0:Password={Password}",
        "--KestrelSocks:Authentication:Users:1:Username=bob",
        $"--KestrelSocks:Authentication:Users:1:Password={Password}",
        "--KestrelSocks:Authentication:HashIterations=1000",
    ];

    private readonly ITestOutputHelper _output;

    public UserLimitsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task MaxSessions_TheNextRequestOfThatUserGetsRep02_OthersAreServed_AndASlotFreesWhenOneEnds()
    {
        await using var host = await ProxyHost.StartAsync(_output, [.. s_users, "--KestrelSocks:Limits:PerUser:MaxSessions=2"]);
        await using var echo = EchoServer.Start();
        await using var first = await OpenTunnelAsync(host, "alice", echo.EndPoint);
        await using var second = await OpenTunnelAsync(host, "alice", echo.EndPoint);

        await using (var third = await AuthenticateAsync(host, "alice"))
        {
            var reply = await third.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));
            Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
            await third.AssertClosedWithoutReplyAsync();
        }

        await host.AssertMetricAsync(1, "kestrelsocks_requests_refused_total", ("socks_refusal_reason", "user_sessions"));
        Assert.Equal(2, echo.AcceptedFrom.Count);

        // Another user, and anonymous clients (not a user: the per-client caps are theirs), are served meanwhile.
        await using (var bob = await OpenTunnelAsync(host, "bob", echo.EndPoint))
        await using (var anonymous = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint))
        await using (var anonymousToo = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint))
        {
            await ConnectTests.AssertEchoesAsync(bob, "bob"u8.ToArray());
            await ConnectTests.AssertEchoesAsync(anonymous, "anonymous"u8.ToArray());
            await ConnectTests.AssertEchoesAsync(anonymousToo, "anonymous too"u8.ToArray());
        }

        // The admitted sessions were not disturbed by the refusal.
        await ConnectTests.AssertEchoesAsync(first, "first"u8.ToArray());
        await ConnectTests.AssertEchoesAsync(second, "second"u8.ToArray());

        // Once one of alice's sessions ends, her next request is served (the server needs a moment to see the close).
        await first.DisposeAsync();
        await Eventually.AssertAsync(
            async () =>
            {
                await using var next = await AuthenticateAsync(host, "alice");
                var reply = await next.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));
                return reply.Reply == ReplyCode.Succeeded;
            },
            () => "alice is still refused after one of her two sessions ended");
    }

    [Fact]
    public async Task MaxUdpAssociations_CountsAcrossConnections_TheNextGetsRep02_AndOneClosingFreesASlot()
    {
        await using var host = await ProxyHost.StartAsync(_output, [.. s_users, "--KestrelSocks:Limits:PerUser:MaxUdpAssociations=2"]);
        await using var echo = UdpEchoServer.Start();
        await using var firstControl = await AuthenticateAsync(host, "alice");
        using var first = await UdpAssociationClient.OpenAsync(firstControl, IPAddress.Loopback);
        await using var secondControl = await AuthenticateAsync(host, "alice");
        using var second = await UdpAssociationClient.OpenAsync(secondControl, IPAddress.Loopback);

        // The first request of a new connection: refused, and the connection closed as after any failure reply.
        await using (var third = await AuthenticateAsync(host, "alice"))
        {
            var reply = await third.RequestAsync(Socks5Command.UdpAssociate, UdpAssociationClient.Unspecified);
            Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
            await third.AssertClosedWithoutReplyAsync();
        }

        // A further request on a connection that holds one: refused, and that connection and its association carry on.
        var further = await secondControl.RequestAsync(Socks5Command.UdpAssociate, UdpAssociationClient.Unspecified);
        Assert.Equal(ReplyCode.ConnectionNotAllowed, further.Reply);
        await second.EchoAsync(echo.EndPoint, "second still relays"u8.ToArray());
        await host.AssertMetricAsync(2, "kestrelsocks_requests_refused_total", ("socks_refusal_reason", "user_udp_associations"));

        await using (var bobControl = await AuthenticateAsync(host, "bob"))
        {
            using var bob = await UdpAssociationClient.OpenAsync(bobControl, IPAddress.Loopback);
            await bob.EchoAsync(echo.EndPoint, "bob"u8.ToArray());
        }

        // Closing the first control connection ends its association, which frees a slot for alice.
        await firstControl.DisposeAsync();
        await Eventually.AssertAsync(
            async () =>
            {
                var reply = await secondControl.RequestAsync(Socks5Command.UdpAssociate, UdpAssociationClient.Unspecified);
                return reply.Reply == ReplyCode.Succeeded;
            },
            () => "alice is still refused a UDP association after one of her two ended");
    }

    [Fact]
    public async Task Bandwidth_DatagramsPastTheUsersRateAreDroppedAndCounted()
    {
        const int Datagrams = 200;
        await using var host = await ProxyHost.StartAsync(_output,
            [.. s_users, $"--KestrelSocks:Limits:PerUser:Bandwidth=1024"]);
        await using var echo = UdpEchoServer.Start();
        await using var control = await AuthenticateAsync(host, "alice");
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        // 200 KB at once against a bucket of 64 KiB that refills at 1 KB/s: about a third gets through.
        var payload = new byte[1000];
        for (var i = 0; i < Datagrams; i++)
        {
            await association.SendAsync(echo.EndPoint, payload);
        }

        // Every datagram is either relayed or dropped for bandwidth, and the drops are counted as such.
        double dropped = 0;
        await Eventually.AssertAsync(
            async () =>
            {
                dropped = (await host.ScrapeMetricsAsync()).Sum("kestrelsocks_udp_drops_total", ("socks_drop_reason", "bandwidth"));
                return dropped + echo.Received.Count == Datagrams;
            },
            () => $"{echo.Received.Count} relayed and {dropped} dropped for bandwidth, of {Datagrams} sent");
        Assert.InRange(echo.Received.Count, 64, Datagrams - 1);
    }

    private static async Task<SocksTestClient> AuthenticateAsync(ProxyHost host, string user)
    {
        var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        try
        {
            Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
            Assert.Equal(0x00, await client.AuthenticateAsync(user, Password));
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    internal static async Task<SocksTestClient> OpenTunnelAsync(ProxyHost host, string user, IPEndPoint destination)
    {
        var client = await AuthenticateAsync(host, user);
        try
        {
            var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(destination));
            Assert.Equal(ReplyCode.Succeeded, reply.Reply);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}
