using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Relay.Udp;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Udp;

/// <summary>Many associations at once, sized for a 2-core machine with a 20,000 file limit (about 900 sockets in all).</summary>
public abstract class UdpConcurrencyTests
{
    private const int ControlConnections = 20;
    private const int AssociationsPerConnection = 10;
    private const int DatagramsPerAssociation = 100;
    private const int PayloadSize = 64;

    // Datagrams in flight per association. With one echo server per control connection no socket ever queues more than
    // 10 x 8 small datagrams, far below any receive buffer, so loopback has no reason to drop one: a loss is the relay's.
    private const int SendWindow = 8;

    private readonly ITestOutputHelper _output;

    private readonly UdpRelaySetup _setup;

    protected UdpConcurrencyTests(ITestOutputHelper output, UdpRelaySetup setup)
    {
        _output = output;
        _setup = setup;
    }

    [Fact]
    public async Task TwoHundredAssociations_EverySequenceNumberComesBackExactlyOnce()
    {
        const int Associations = ControlConnections * AssociationsPerConnection;
        await using var host = await StartHostAsync();
        var echoes = new List<UdpEchoServer>();
        var controls = new ConcurrentBag<SocksTestClient>();
        var flows = new ConcurrentBag<(UdpAssociationClient Association, UdpEchoServer Echo, int Id)>();
        try
        {
            for (var c = 0; c < ControlConnections; c++)
            {
                echoes.Add(UdpEchoServer.Start());
            }

            // Each control connection asks for its associations one after another; the connections run side by side.
            await Task.WhenAll(Enumerable.Range(0, ControlConnections).Select(async c =>
            {
                var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
                controls.Add(control);
                for (var a = 0; a < AssociationsPerConnection; a++)
                {
                    flows.Add((await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback), echoes[c], (c * AssociationsPerConnection) + a));
                }
            })).WaitAsync(TestTimeouts.Long);

            Assert.Equal(_setup.SharedPort ? 1 : Associations, flows.Select(f => f.Association.RelayEndPoint.Port).Distinct().Count());
            await host.AssertMetricAsync(Associations, "kestrelsocks_udp_associations_active");

            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(flows.Select(f => RunFlowAsync(f.Association, f.Echo, f.Id))).WaitAsync(TestTimeouts.Long);
            _output.WriteLine($"{Associations} associations x {DatagramsPerAssociation} datagrams echoed in {stopwatch.Elapsed.TotalMilliseconds:0} ms.");

            const int Total = Associations * DatagramsPerAssociation;
            await host.AssertMetricAsync(Total, "kestrelsocks_udp_datagrams_total", ("socks_direction", "upstream"));
            await host.AssertMetricAsync(Total, "kestrelsocks_udp_datagrams_total", ("socks_direction", "downstream"));
            await host.AssertMetricAsync(Total * PayloadSize, "kestrelsocks_udp_bytes_total", ("socks_direction", "downstream"));
            await host.AssertMetricAsync(0, "kestrelsocks_udp_drops_total");
        }
        finally
        {
            foreach (var flow in flows)
            {
                flow.Association.Dispose();
            }

            foreach (var control in controls)
            {
                await control.DisposeAsync();
            }

            foreach (var echo in echoes)
            {
                await echo.DisposeAsync();
            }
        }

        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
        var relay = host.App.Services.GetRequiredService<UdpRelay>();
        await Eventually.AssertAsync(() => relay.EventArgsPool.Outstanding == 0, () => $"{relay.EventArgsPool.Outstanding} readiness event args were never returned to the pool.");
        Assert.Equal(0, relay.Engine.Attached);
    }

    /// <summary>Sends sequence numbers 0..N-1 with at most <see cref="SendWindow"/> unanswered, and checks each comes back once.</summary>
    private static async Task RunFlowAsync(UdpAssociationClient association, UdpEchoServer echo, int id)
    {
        using var window = new SemaphoreSlim(SendWindow);
        var seen = new bool[DatagramsPerAssociation];
        var receiving = ReceiveAllAsync();
        var payload = new byte[PayloadSize];
        BinaryPrimitives.WriteInt32BigEndian(payload, id);
        for (var sequence = 0; sequence < DatagramsPerAssociation; sequence++)
        {
            var slot = window.WaitAsync(TestTimeouts.Default);
            if (await Task.WhenAny(slot, receiving) == receiving)
            {
                // The receiver failed (a datagram never came back, or came back wrong): its exception tells why.
                await receiving;
            }

            Assert.True(await slot, $"Association {id}: no reply freed the send window for sequence {sequence}.");
            BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(4), sequence);
            await association.SendAsync(echo.EndPoint, payload);
        }

        await receiving;
        Assert.All(seen, Assert.True);

        async Task ReceiveAllAsync()
        {
            for (var received = 0; received < DatagramsPerAssociation; received++)
            {
                var reply = await association.ReceiveAsync();
                Assert.Equal(echo.EndPoint, reply.SourceEndPoint);
                Assert.Equal(PayloadSize, reply.Payload.Length);
                Assert.Equal(id, BinaryPrimitives.ReadInt32BigEndian(reply.Payload));
                var sequence = BinaryPrimitives.ReadInt32BigEndian(reply.Payload.AsSpan(4));
                Assert.InRange(sequence, 0, DatagramsPerAssociation - 1);
                Assert.False(seen[sequence], $"Association {id}: sequence {sequence} came back twice.");
                seen[sequence] = true;
                window.Release();
            }
        }
    }

    /// <summary>The real host, with the UDP relay setup this class runs on (the last setting wins).</summary>
    private Task<ProxyHost> StartHostAsync(params string[] settings) =>
        ProxyHost.StartAsync(_output, [.. settings, .. _setup.Settings]);

    /// <summary>Every test above on the Linux relay loops (the default there).</summary>
    public sealed class EventLoop(ITestOutputHelper output) : UdpConcurrencyTests(output, UdpRelaySetup.EventLoop);

    /// <summary>Every test above on the portable engine.</summary>
    public sealed class Portable(ITestOutputHelper output) : UdpConcurrencyTests(output, UdpRelaySetup.Portable);

    /// <summary>Every test above on one shared port (<c>Udp:Mode=Shared</c>).</summary>
    public sealed class SharedPort(ITestOutputHelper output) : UdpConcurrencyTests(output, UdpRelaySetup.Shared);
}
