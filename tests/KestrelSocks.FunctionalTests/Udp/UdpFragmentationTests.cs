using System.Net;
using System.Text;
using KestrelSocks.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Udp;

/// <summary>
/// FRAG (RFC 1928 section 7): fragments 1..127, the high-order bit marking the last. The relay reassembles a complete
/// sequence into one datagram, in any arrival order, abandons an incomplete one when its reassembly timer runs out,
/// restarts on evidence of a new sequence, and drops every fragment when fragmentation is switched off.
/// </summary>
public abstract class UdpFragmentationTests
{
    private readonly ITestOutputHelper _output;

    private readonly UdpRelaySetup _setup;

    protected UdpFragmentationTests(ITestOutputHelper output, UdpRelaySetup setup)
    {
        _output = output;
        _setup = setup;
    }

    [Theory]
    [InlineData(new byte[] { 1, 2, 0x83 })]
    [InlineData(new byte[] { 2, 1, 0x83 })]
    [InlineData(new byte[] { 0x83, 2, 1 })]
    public async Task CompleteSequence_IsReassembledIntoOneDatagram(byte[] arrivalOrder)
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);
        var pieces = Pieces("first piece|", "second piece|", "third and last");

        foreach (var fragment in arrivalOrder)
        {
            await association.SendAsync(echo.EndPoint, pieces[(fragment & 0x7F) - 1], fragment);
        }

        var reply = await association.ReceiveAsync();
        Assert.Equal("first piece|second piece|third and last"u8.ToArray(), reply.Payload);
        Assert.Equal(echo.EndPoint, reply.SourceEndPoint);
        await UdpDropTests.AssertOnlySentinelDeliveredAsync(association, echo, alreadyDelivered: 1);
        await host.AssertMetricAsync(0, "kestrelsocks_udp_drops_total");
    }

    [Fact]
    public async Task SequenceWithAMissingPiece_IsNeverDelivered_AndCountedWhenTheReassemblyTimerRunsOut()
    {
        await using var host = await StartHostAsync("--KestrelSocks:Udp:ReassemblyTimeout=00:00:00.5");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        // Fragment 2 never comes.
        await association.SendAsync(echo.EndPoint, "one"u8, 1);
        await association.SendAsync(echo.EndPoint, "three, the last"u8, 0x83);

        // The counter counts datagrams: both queued fragments are abandoned.
        await host.AssertMetricAsync(2, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "reassembly_timeout"));
        await UdpDropTests.AssertOnlySentinelDeliveredAsync(association, echo);
        await host.AssertMetricAsync(2, "kestrelsocks_udp_drops_total");
    }

    [Fact]
    public async Task NewSequenceBeforeTheOldOneCompletes_RestartsReassembly()
    {
        await using var host = await StartHostAsync();
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        await association.SendAsync(echo.EndPoint, "old one|"u8, 1);
        await association.SendAsync(echo.EndPoint, "old two|"u8, 2);

        // Fragment 1 again: a new sequence began, and the old one can never complete.
        await association.SendAsync(echo.EndPoint, "new one|"u8, 1);
        await association.SendAsync(echo.EndPoint, "new two|"u8, 2);
        await association.SendAsync(echo.EndPoint, "new three"u8, 0x83);

        var reply = await association.ReceiveAsync();
        Assert.Equal("new one|new two|new three"u8.ToArray(), reply.Payload);
        await UdpDropTests.AssertOnlySentinelDeliveredAsync(association, echo, alreadyDelivered: 1);
        await host.AssertMetricAsync(2, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "fragment_dropped"));
    }

    [Fact]
    public async Task FragmentationDisabled_EveryFragmentIsDroppedAndCounted()
    {
        await using var host = await StartHostAsync("--KestrelSocks:Udp:Fragmentation=false");
        await using var echo = UdpEchoServer.Start();
        await using var control = await UdpAssociationClient.ConnectControlAsync(host.SocksEndPoint);
        using var association = await UdpAssociationClient.OpenAsync(control, IPAddress.Loopback);

        await association.SendAsync(echo.EndPoint, "one|"u8, 1);
        await association.SendAsync(echo.EndPoint, "two|"u8, 2);
        await association.SendAsync(echo.EndPoint, "three"u8, 0x83);

        await host.AssertMetricAsync(3, "kestrelsocks_udp_drops_total", ("socks_drop_reason", "fragment_dropped"));
        await UdpDropTests.AssertOnlySentinelDeliveredAsync(association, echo);
    }

    private static byte[][] Pieces(params string[] pieces) => [.. pieces.Select(p => Encoding.ASCII.GetBytes(p))];

    /// <summary>The real host, with the UDP relay setup this class runs on (the last setting wins).</summary>
    private Task<ProxyHost> StartHostAsync(params string[] settings) =>
        ProxyHost.StartAsync(_output, [.. settings, .. _setup.Settings]);

    /// <summary>Every test above on the Linux relay loops (the default there).</summary>
    public sealed class EventLoop(ITestOutputHelper output) : UdpFragmentationTests(output, UdpRelaySetup.EventLoop);

    /// <summary>Every test above on the portable engine.</summary>
    public sealed class Portable(ITestOutputHelper output) : UdpFragmentationTests(output, UdpRelaySetup.Portable);

    /// <summary>Every test above on one shared port (<c>Udp:Mode=Shared</c>).</summary>
    public sealed class SharedPort(ITestOutputHelper output) : UdpFragmentationTests(output, UdpRelaySetup.Shared);
}
