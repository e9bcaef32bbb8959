using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Udp;

/// <summary>
/// What only the shared port (<c>Udp:Mode=Shared</c>) has to get right: telling clients apart by their address and
/// port alone. The UDP test classes' <c>SharedPort</c> variants run everything else on it too.
/// </summary>
public sealed class UdpSharedPortTests
{
    private static readonly (string, string) WrongSource = ("socks_drop_reason", "wrong_source");

    private readonly ITestOutputHelper _output;

    public UdpSharedPortTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task EveryAssociationIsAnnouncedOnTheSharedPort_OnBothSteeredSockets_AndEachClientGetsOnlyItsOwnReplies()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        var shared = host.App.Services.GetRequiredService<UdpRelay>().SharedPort;
        Assert.NotNull(shared);
        Assert.Equal(2, shared.SocketCount);

        var associations = new List<UdpAssociationClient>();
        try
        {
            // Clients on even and odd ports: both of the shared port's sockets, and both relay loops, carry some.
            while (associations.Select(a => a.LocalEndPoint.Port % 2).Distinct().Count() < 2 || associations.Count < 8)
            {
                associations.Add(await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback));
            }

            Assert.All(associations, a => Assert.Equal(new IPEndPoint(IPAddress.Loopback, shared.Port), a.RelayEndPoint));
            for (var i = associations.Count - 1; i >= 0; i--)
            {
                await associations[i].EchoAsync(echo.EndPoint, Encoding.ASCII.GetBytes($"association {i}"));
            }

            Assert.All(associations, a => Assert.Equal(0, a.Socket.Available));
            await host.AssertMetricAsync(0, "kestrelsocks_udp_drops_total");
        }
        finally
        {
            associations.ForEach(a => a.Dispose());
        }
    }

    /// <summary>
    /// The rule for clients that do not declare their port: the first datagram from their IP that no known client
    /// sent is taken by the oldest association still waiting for its port. Here the second client sends first, so it
    /// takes the first association (the one on the first control connection) and lives and dies with it.
    /// </summary>
    [Fact]
    public async Task UndeclaredPortsFromOneAddress_AreTakenByTheOldestWaitingAssociation_InTheOrderClientsFirstSend()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        var first = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        await using var second = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var older = await UdpAssociationClient.OpenAsync(first, IPAddress.Loopback, declarePort: false);
        using var newer = await UdpAssociationClient.OpenAsync(second, IPAddress.Loopback, declarePort: false);

        await newer.EchoAsync(echo.EndPoint, "I send first"u8.ToArray());
        await older.EchoAsync(echo.EndPoint, "I send second"u8.ToArray());

        // The first control connection's association was the newer client's: closing it cuts that client off, and
        // the older client, on the second control connection's association, carries on.
        await first.DisposeAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_udp_associations_active");
        var before = (await host.ScrapeMetricsAsync()).Require("kestrelsocks_udp_drops_total", WrongSource);
        await newer.SendAsync(echo.EndPoint, "cut off"u8);
        await host.AssertMetricAsync(before + 1, "kestrelsocks_udp_drops_total", WrongSource);
        await older.EchoAsync(echo.EndPoint, "still relayed"u8.ToArray());
        Assert.Equal(0, newer.Socket.Available);
    }

    [Fact]
    public async Task DeclaredAndUndeclaredClientsOnOneAddress_TheDeclaredPortIsNeverLearntByAnother()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var waiting = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback, declarePort: false);
        using var declared = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        // The declared client sends first: it is known already, so the waiting association does not take it.
        await declared.EchoAsync(echo.EndPoint, "declared"u8.ToArray());
        await waiting.EchoAsync(echo.EndPoint, "learnt"u8.ToArray());
        await declared.EchoAsync(echo.EndPoint, "declared again"u8.ToArray());
        await host.AssertMetricAsync(0, "kestrelsocks_udp_drops_total");
    }

    [Fact]
    public async Task DeclaredEndPointThatAnotherAssociationHolds_IsRefusedWithRep01_CountedAndTheFirstCarriesOn()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var holder = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        var reply = await control.RequestAsync(Socks5Command.UdpAssociate, Socks5Address.FromEndPoint(holder.LocalEndPoint));

        Assert.Equal(ReplyCode.GeneralFailure, reply.Reply);
        await host.AssertMetricAsync(1, "kestrelsocks_requests_refused_total",
            ("socks_command", "udp_associate"), ("socks_refusal_reason", "client_endpoint_in_use"));
        await host.AssertMetricAsync(1, "kestrelsocks_udp_associations_active");

        // The histogram is exported from the first association that ends; none has, so the refusal opened none.
        var ended = (await host.ScrapeMetricsAsync()).TryGet("kestrelsocks_udp_association_duration_seconds_count", [], out var count) ? count : 0;
        Assert.Equal(0, ended);
        await holder.EchoAsync(echo.EndPoint, "mine"u8.ToArray());
    }

    [Fact]
    public async Task FloodFromUnknownSources_IsDroppedUnansweredAndCounted_WhileTheClientLosesNothing()
    {
        const int Strangers = 8;
        const int PerStranger = 50;
        const int Datagrams = 200;
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var client = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        var strangers = Enumerable.Range(0, Strangers)
            .Select(i => BindUdp(IPAddress.Parse(i % 2 == 0 ? "127.0.0.1" : "127.0.0.2"))).ToList();
        try
        {
            // Well-formed datagrams, to the shared port, from the client's own IP and another, interleaved with the client's.
            var forged = UdpAssociationClient.Datagram(Socks5Address.FromEndPoint(echo.EndPoint), "forged"u8);
            using var timeout = new CancellationTokenSource(TestTimeouts.Long);
            var flood = Task.WhenAll(strangers.Select(async s =>
            {
                for (var i = 0; i < PerStranger; i++)
                {
                    await s.SendToAsync(forged, SocketFlags.None, client.RelayEndPoint, timeout.Token);
                }
            }));
            for (var i = 0; i < Datagrams; i++)
            {
                await client.EchoAsync(echo.EndPoint, BitConverter.GetBytes(i));
            }

            await flood;
            await host.AssertMetricAsync(Strangers * PerStranger, "kestrelsocks_udp_drops_total", WrongSource);
            await host.AssertMetricAsync(Strangers * PerStranger, "kestrelsocks_udp_drops_total");
            Assert.Equal(Datagrams, echo.Received.Count);
            Assert.All(strangers, s => Assert.Equal(0, s.Available));
        }
        finally
        {
            strangers.ForEach(s => s.Dispose());
        }
    }

    /// <summary>
    /// Replies of many associations leave the shared port together: a relay loop queues each association's replies
    /// behind those of the associations it drained before in the same pass and sends them in one sendmmsg. Every
    /// client must still get exactly its own replies, each once, and every reply must count to the totals.
    /// </summary>
    [Fact]
    public async Task BurstsFromManyAssociations_RepliesBatchedOnTheSharedSocket_EachClientGetsExactlyItsOwn_AndAllAreCounted()
    {
        const int Associations = 48;
        const int PerAssociation = 6;
        const int PayloadLength = 12;
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        var associations = new List<UdpAssociationClient>();
        try
        {
            for (var i = 0; i < Associations; i++)
            {
                associations.Add(await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback));
            }

            // Everything is sent before anything is read, so the echo's replies reach many outbound sockets at once
            // and each relay loop finds several ready in one pass (more than a batch's 16 slots in all).
            for (var round = 0; round < PerAssociation; round++)
            {
                for (var i = 0; i < Associations; i++)
                {
                    await associations[i].SendAsync(echo.EndPoint, Payload(i, round));
                }
            }

            for (var i = 0; i < Associations; i++)
            {
                var seen = new HashSet<int>();
                for (var n = 0; n < PerAssociation; n++)
                {
                    var reply = await associations[i].ReceiveAsync();
                    Assert.Equal(echo.EndPoint, reply.SourceEndPoint);
                    Assert.Equal(PayloadLength, reply.Payload.Length);
                    Assert.Equal(i, BitConverter.ToInt32(reply.Payload, 0));
                    Assert.True(seen.Add(BitConverter.ToInt32(reply.Payload, 4)), $"association {i} got a reply twice");
                    Assert.True(Payload(i, BitConverter.ToInt32(reply.Payload, 4)).AsSpan().SequenceEqual(reply.Payload));
                }
            }

            Assert.All(associations, a => Assert.Equal(0, a.Socket.Available));
            const int Total = Associations * PerAssociation;
            await host.AssertMetricAsync(Total, "kestrelsocks_udp_datagrams_total", ("socks_direction", "upstream"));
            await host.AssertMetricAsync(Total, "kestrelsocks_udp_datagrams_total", ("socks_direction", "downstream"));
            await host.AssertMetricAsync(Total * PayloadLength, "kestrelsocks_udp_bytes_total", ("socks_direction", "downstream"));
            await host.AssertMetricAsync(0, "kestrelsocks_udp_drops_total");
        }
        finally
        {
            associations.ForEach(a => a.Dispose());
        }

        static byte[] Payload(int association, int round)
        {
            var payload = new byte[PayloadLength];
            BitConverter.TryWriteBytes(payload.AsSpan(0, 4), association);
            BitConverter.TryWriteBytes(payload.AsSpan(4, 4), round);
            BitConverter.TryWriteBytes(payload.AsSpan(8, 4), association ^ (round << 16));
            return payload;
        }
    }

    /// <summary>The shared port's sockets get their own receive buffer, <c>Udp:SharedSocketReceiveBufferSize</c>, as far as the kernel grants it.</summary>
    [Fact]
    public async Task SharedSocketsGetTheirOwnReceiveBuffer_AsFarAsTheKernelGrantsIt()
    {
        const int Requested = 6 * 1024 * 1024;
        await using var host = await StartHostAsync($"KestrelSocks:Udp:SharedSocketReceiveBufferSize={Requested}");
        var shared = host.App.Services.GetRequiredService<UdpRelay>().SharedPort;
        Assert.NotNull(shared);
        var rmemMax = int.Parse(File.ReadAllText("/proc/sys/net/core/rmem_max").Trim());
        for (var i = 0; i < shared.SocketCount; i++)
        {
            // Linux reports twice what was set.
            var granted = shared.SocketAt(i).ReceiveBufferSize / 2;
            Assert.True(granted >= Math.Min(Requested, rmemMax), $"socket {i}: {granted} bytes, rmem_max {rmemMax}");
            Assert.True(granted <= Requested, $"socket {i}: {granted} bytes");
            Assert.True(shared.ReceiveBufferSize <= granted);
        }
    }

    [Fact]
    public async Task EachAssociationHoldsOneDescriptor_ItsOutboundSocket()
    {
        const int Associations = 20;
        await using var host = await StartHostAsync();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        var inUse = (await host.ScrapeMetricsAsync()).Require("kestrelsocks_descriptors_in_use");
        var associations = new List<UdpAssociationClient>();
        try
        {
            for (var i = 0; i < Associations; i++)
            {
                associations.Add(await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback));
            }

            await host.AssertMetricAsync(inUse + Associations, "kestrelsocks_descriptors_in_use");
        }
        finally
        {
            associations.ForEach(a => a.Dispose());
        }

        await control.DisposeAsync();
        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
        await host.AssertMetricAsync(inUse - 1, "kestrelsocks_descriptors_in_use");
    }

    private static Socket BindUdp(IPAddress address)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        return socket;
    }

    private Task<ProxyHost> StartHostAsync(params string[] settings) =>
        ProxyHost.StartAsync(_output, [.. settings, .. UdpRelaySetup.Shared.Settings]);
}
