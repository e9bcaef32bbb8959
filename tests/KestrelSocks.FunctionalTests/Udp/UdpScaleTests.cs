using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Udp;

/// <summary>
/// Ten thousand associations in one process under the 20,000-descriptor limit: 40 control connections carry 250
/// each (the multi-association extension), all for one client socket. Counted against the descriptors the process
/// opens, so it runs alone.
/// </summary>
[Collection(FileDescriptorCollection.Name)]
public sealed class UdpScaleTests
{
    private const int ControlConnections = 40;
    private const int AssociationsPerConnection = 250;
    private const int Associations = ControlConnections * AssociationsPerConnection;

    private readonly ITestOutputHelper _output;

    public UdpScaleTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task TenThousandAssociations_OneDescriptorEach_AndAllReturnedWhenTheControlConnectionsClose()
    {
        if (!OperatingSystem.IsLinux())
        {
            // One socket per association is the Linux engine's; the portable engine needs two and cannot fit.
            return;
        }

        await RunAsync();
    }

    /// <summary>
    /// The same on the shared port: every association's client sends to one port, so each needs a client endpoint of
    /// its own. Declared ports need no socket behind them; every 100th is a real socket that relays both ways.
    /// </summary>
    [Fact]
    public async Task TenThousandAssociationsOnTheSharedPort_OneDescriptorEach_AndAllReturnedWhenTheControlConnectionsClose()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        await RunAsync(UdpRelaySetup.Shared.Settings);
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private async Task RunAsync(params string[] setup)
    {
        var shared = setup.Length > 0;
        await using var host = await ProxyHost.StartAsync(
            _output, [$"--KestrelSocks:Udp:MaxAssociationsPerConnection={AssociationsPerConnection}", .. ProxyHost.ManyClientsFromOneAddress, .. setup], configure: null);
        await using var echo = UdpEchoServer.Start();
        var clients = new Dictionary<int, Socket>();
        for (var i = 0; i < Associations; i += 100)
        {
            clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            clients[i].Bind(new IPEndPoint(IPAddress.Loopback, 0));
            if (!shared)
            {
                // One client socket serves every association when each has a relay port of its own.
                break;
            }
        }

        // On the shared port a client endpoint each: a real socket's, or one below the ephemeral range no socket here holds.
        Socks5Address Declared(int i) => Socks5Address.FromEndPoint(!shared ? (IPEndPoint)clients[0].LocalEndPoint!
            : clients.TryGetValue(i, out var socket) ? (IPEndPoint)socket.LocalEndPoint! : new IPEndPoint(IPAddress.Loopback, 10_000 + i));
        Socket ClientFor(int i) => shared ? clients[i] : clients[0];
        var relay = host.App.Services.GetRequiredService<UdpRelay>();

        // Warm up first: one association both ways and one scrape load the code (and keep the scrape's connection)
        // that would otherwise count against the baseline.
        await using (var warmUp = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint))
        {
            using var association = await UdpAssociationClient.OpenAsync(warmUp, IPAddress.Loopback);
            await association.EchoAsync(echo.EndPoint, "warm-up"u8.ToArray());
        }

        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
        var baseline = FileDescriptors.Sockets();

        var controls = new List<SocksTestClient>();
        var relays = new List<IPEndPoint>();
        try
        {
            for (var c = 0; c < ControlConnections; c++)
            {
                var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
                controls.Add(control);
                for (var a = 0; a < AssociationsPerConnection; a++)
                {
                    var reply = await control.RequestAsync(Socks5Command.UdpAssociate, Declared(relays.Count));
                    Assert.Equal(ReplyCode.Succeeded, reply.Reply);
                    relays.Add(new IPEndPoint(reply.BoundAddress.ToIPAddress(), reply.BoundAddress.Port));
                }
            }

            await host.AssertMetricAsync(Associations, "kestrelsocks_udp_associations_active");
            Assert.Equal(shared ? 1 : Associations, relays.Distinct().Count());
            Assert.Equal(Associations, relay.Engine.Attached);

            // One socket per association (its own port, or its outbound socket beside the shared port); besides them
            // only the two ends of each control connection and what the host opened meanwhile (a scrape's connection).
            var opened = FileDescriptors.Sockets() - baseline;
            Assert.InRange(opened, Associations, Associations + (2 * ControlConnections) + 32);

            // Every 100th association relays both ways.
            var buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TestTimeouts.Long);
            for (var i = 0; i < Associations; i += 100)
            {
                var payload = BitConverter.GetBytes(i);
                var client = ClientFor(i);
                await client.SendToAsync(UdpAssociationClient.Datagram(Socks5Address.FromEndPoint(echo.EndPoint), payload), SocketFlags.None, relays[i], timeout.Token);
                var result = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
                Assert.Equal(relays[i], (IPEndPoint)result.RemoteEndPoint);
                Assert.Equal(payload, buffer.AsSpan(result.ReceivedBytes - payload.Length, payload.Length).ToArray());
            }
        }
        finally
        {
            foreach (var control in controls)
            {
                await control.DisposeAsync();
            }

            foreach (var client in clients.Values)
            {
                client.Dispose();
            }
        }

        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
        await Eventually.AssertAsync(() => relay.Engine.Attached == 0, () => $"{relay.Engine.Attached} associations are still attached to a relay loop.");
        await Eventually.AssertAsync(
            () => FileDescriptors.Sockets() <= baseline,
            () => $"{FileDescriptors.Sockets() - baseline} sockets more than before the associations opened.",
            TestTimeouts.Long);
    }
}
