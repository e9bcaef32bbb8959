using System.Net;
using System.Net.Sockets;
using KestrelSocks.Relay.Udp;

namespace KestrelSocks.Tests.Relay.Udp;

public sealed class ClientAdmissionTests
{
    [Fact]
    public void DeclaredPort_OnlyThatAddressAndPortIsTheClient()
    {
        var admission = new ClientAdmission(IPAddress.Parse("192.0.2.7"), 5000);

        Assert.False(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.7:5001")));
        Assert.False(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.8:5000")));
        Assert.Null(admission.ReturnAddress);

        Assert.True(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.7:5000")));
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 5000), EndPointOf(admission.ReturnAddress!));
        Assert.True(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.7:5000")));
        Assert.False(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.7:5001")));
    }

    [Fact]
    public void PortZero_TheFirstDatagramFromTheAddressNamesThePort()
    {
        var admission = new ClientAdmission(IPAddress.Parse("192.0.2.7"), 0);

        Assert.False(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.9:4000")));
        Assert.True(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.7:4000")));

        Assert.False(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.7:4001")));
        Assert.True(admission.IsClient(AddressFamily.InterNetwork, Name("192.0.2.7:4000")));
    }

    [Fact]
    public void DualModeSocket_AnIPv4ClientArrivesMapped_AndIsRecognised()
    {
        var admission = new ClientAdmission(IPAddress.Parse("::ffff:192.0.2.7"), 0);

        Assert.True(admission.IsClient(AddressFamily.InterNetworkV6, Name("[::ffff:192.0.2.7]:4000")));
        Assert.False(admission.IsClient(AddressFamily.InterNetworkV6, Name("[2001:db8::7]:4000")));

        // Replies go to the address exactly as the socket reported it.
        Assert.Equal(AddressFamily.InterNetworkV6, admission.ReturnAddress!.Family);
        Assert.Equal(IPEndPoint.Parse("[::ffff:192.0.2.7]:4000"), EndPointOf(admission.ReturnAddress));
    }

    [Fact]
    public void IPv6Client_OnlyItsAddress()
    {
        var admission = new ClientAdmission(IPAddress.Parse("2001:db8::7"), 4000);

        Assert.False(admission.IsClient(AddressFamily.InterNetworkV6, Name("[2001:db8::8]:4000")));
        Assert.True(admission.IsClient(AddressFamily.InterNetworkV6, Name("[2001:db8::7]:4000")));
    }

    private static byte[] Name(string endPoint)
    {
        var address = IPEndPoint.Parse(endPoint).Serialize();
        return address.Buffer.Span[..address.Size].ToArray();
    }

    private static IPEndPoint EndPointOf(SocketAddress address) =>
        (IPEndPoint)new IPEndPoint(address.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0).Create(address);
}
