using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Abuse;

/// <summary>
/// Per-client admission on the real host: a client that opens handshakes and never finishes them, or opens more
/// sessions than its share, is held back at accept, counted and logged at a bounded rate, while a client from
/// another address is served. 127.0.0.2 stands for the other client.
/// </summary>
public sealed class AdmissionTests
{
    private static readonly IPAddress _attacker = IPAddress.Parse("127.0.0.2");

    private readonly ITestOutputHelper _output;

    public AdmissionTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task HandshakesThatNeverFinish_FromOneClient_DoNotLockOthersOut()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Limits:MaxHandshakesPerClient=32");
        await using var echo = EchoServer.Start();

        // Each sends the first byte of a greeting and waits.
        var stalled = new List<SocksTestClient>();
        try
        {
            var resetAtConnect = 0;
            for (var i = 0; i < 100; i++)
            {
                SocksTestClient client;
                try
                {
                    client = await SocksTestClient.ConnectAsync(host.SocksEndPoint, _attacker);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    // Refused at accept: the reset can overtake the client's own view of its connect.
                    resetAtConnect++;
                    continue;
                }

                stalled.Add(client);
                await SendIgnoringResetAsync(client, [0x05]);
            }

            await host.AssertMetricAsync(68, "kestrelsocks_connections_rejected_total", ("socks_reject_reason", "client_handshake_limit"));

            // Refused ones are closed without a byte; another client completes its whole handshake and tunnel.
            Assert.InRange(resetAtConnect, 0, 68);
            if (stalled.Count > 32)
            {
                await stalled[^1].AssertClosedWithoutReplyAsync();
            }

            await using var served = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
            await ConnectTests.AssertEchoesAsync(served, "served"u8.ToArray());

            // Sixty-eight refusals in moments, but not sixty-eight log lines.
            var lines = host.Logs.Entries.Count(e => e.EventId.Name == "ConnectionRejected");
            Assert.InRange(lines, 1, 10);
        }
        finally
        {
            foreach (var client in stalled)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SessionsPerClient_PastTheLimit_AreClosedAtAccept_WhileAnotherClientIsServed()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Limits:MaxSessionsPerClient=3");
        await using var echo = EchoServer.Start();
        var tunnels = new List<SocksTestClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint, _attacker);
                tunnels.Add(client);
                Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
                Assert.Equal(ReplyCode.Succeeded, (await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint))).Reply);
            }

            await SocksTestClient.AssertRefusedAtAcceptAsync(host.SocksEndPoint, _attacker);

            await host.AssertMetricAsync(1, "kestrelsocks_connections_rejected_total", ("socks_reject_reason", "client_session_limit"));
            await using var other = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);
            await ConnectTests.AssertEchoesAsync(other, "other client"u8.ToArray());
            await ConnectTests.AssertEchoesAsync(tunnels[0], "undisturbed"u8.ToArray());
        }
        finally
        {
            foreach (var tunnel in tunnels)
            {
                await tunnel.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task UdpAssociationsPerClient_PastTheLimit_AreRefusedWithRep02_AndTheConnectionCarriesOn()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Udp:MaxAssociationsPerClient=2");
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        var request = Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Any, 0));
        Assert.Equal(ReplyCode.Succeeded, (await control.RequestAsync(Socks5Command.UdpAssociate, request)).Reply);
        Assert.Equal(ReplyCode.Succeeded, (await control.RequestAsync(Socks5Command.UdpAssociate, request)).Reply);
        Assert.Equal(ReplyCode.ConnectionNotAllowed, (await control.RequestAsync(Socks5Command.UdpAssociate, request)).Reply);

        // A second connection from the same client counts against the same limit, and its refused first request closes it.
        await using (var second = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint))
        {
            Assert.Equal(ReplyCode.ConnectionNotAllowed, (await second.RequestAsync(Socks5Command.UdpAssociate, request)).Reply);
            await second.AssertClosedWithoutReplyAsync();
        }

        await host.AssertMetricAsync(2, "kestrelsocks_requests_refused_total", ("socks_command", "udp_associate"), ("socks_refusal_reason", "client_association_limit"));
        await host.AssertMetricAsync(2, "kestrelsocks_udp_associations_active");
    }

    private static async Task SendIgnoringResetAsync(SocksTestClient client, byte[] bytes)
    {
        try
        {
            await client.SendAsync(bytes);
        }
        catch (SocketException)
        {
            // A connection refused at accept may be reset before the bytes leave.
        }
    }
}
