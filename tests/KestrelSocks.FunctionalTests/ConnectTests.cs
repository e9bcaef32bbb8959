using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>CONNECT through the real host to a real loopback destination, for every address type.</summary>
public sealed class ConnectTests
{
    private readonly ITestOutputHelper _output;

    public ConnectTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Connect_IPv4Address_RelaysBothWays()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start(IPAddress.Loopback);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var destination = Socks5Address.FromEndPoint(echo.EndPoint);
        Assert.Equal(AddressType.IPv4, destination.Type);
        var reply = await client.RequestAsync(Socks5Command.Connect, destination);

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        await AssertEchoesAsync(client, "over IPv4"u8.ToArray());
    }

    [Fact]
    public async Task Connect_IPv6Address_RelaysBothWays()
    {
        Assert.True(Socket.OSSupportsIPv6, "IPv6 loopback (::1) is needed for ATYP 04.");
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start(IPAddress.IPv6Loopback);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var destination = Socks5Address.FromEndPoint(echo.EndPoint);
        Assert.Equal(AddressType.IPv6, destination.Type);
        var reply = await client.RequestAsync(Socks5Command.Connect, destination);

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        Assert.Equal(AddressType.IPv6, reply.BoundAddress.Type);
        Assert.Equal(IPAddress.IPv6Loopback, reply.BoundAddress.ToIPAddress());
        await AssertEchoesAsync(client, "over IPv6"u8.ToArray());
    }

    [Fact]
    public async Task Connect_DomainName_IsResolvedByTheProxy()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start(IPAddress.Loopback);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var destination = Socks5Address.FromDomainName("localhost", (ushort)echo.EndPoint.Port);
        Assert.Equal(AddressType.DomainName, destination.Type);
        var reply = await client.RequestAsync(Socks5Command.Connect, destination);

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        await AssertEchoesAsync(client, "by name"u8.ToArray());
    }

    [Fact]
    public async Task Connect_OneMebibyteRoundTrip_IsByteExact()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, echo.EndPoint);

        var sent = new byte[1024 * 1024];
        new Random(20240601).NextBytes(sent);
        var received = new byte[sent.Length];

        // Send and receive at once: the proxy's back-pressure would stall a sender that never reads.
        var receiving = client.ReceiveExactlyAsync(received);
        await client.SendAsync(sent);
        await receiving.WaitAsync(TestTimeouts.Default);

        AssertSameBytes(sent, received);
        client.ShutdownSend();
        var end = await client.ReadUntilClosedAsync();
        Assert.Empty(end.Data);
        Assert.False(end.WasReset);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Connect_DataPipelinedBehindRequest_ReachesDestination(bool greetingInSameWrite)
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        var payload = "sent before the reply arrived"u8.ToArray();
        var request = SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));

        if (greetingInSameWrite)
        {
            await client.SendAsync((byte[])[.. SocksTestClient.Greeting(AuthMethod.NoAuthentication), .. request, .. payload]);
            Assert.Equal(AuthMethod.NoAuthentication, await client.ReadMethodSelectionAsync());
        }
        else
        {
            Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
            await client.SendAsync((byte[])[.. request, .. payload]);
        }

        Assert.Equal(ReplyCode.Succeeded, (await client.ReadReplyAsync()).Reply);
        Assert.Equal(payload, await client.ReceiveExactlyAsync(payload.Length));
    }

    [Fact]
    public async Task Connect_HandshakeOneByteAtATime_Succeeds()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        byte[] handshake =
        [
            .. SocksTestClient.Greeting(AuthMethod.NoAuthentication),
            .. SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint)),
        ];
        foreach (var b in handshake)
        {
            await client.SendAsync(new[] { b });
        }

        Assert.Equal(AuthMethod.NoAuthentication, await client.ReadMethodSelectionAsync());
        Assert.Equal(ReplyCode.Succeeded, (await client.ReadReplyAsync()).Reply);
        await AssertEchoesAsync(client, "after a trickled handshake"u8.ToArray());
    }

    [Fact]
    public async Task Connect_SuccessReply_BoundAddressIsTheUpstreamSocketsLocalEndPoint()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.GreetAsync(AuthMethod.NoAuthentication);

        var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        Assert.Equal(AddressType.IPv4, reply.BoundAddress.Type);
        Assert.Equal(IPAddress.Loopback, reply.BoundAddress.ToIPAddress());
        Assert.NotEqual(0, reply.BoundAddress.Port);

        // The destination sees the proxy's upstream socket: BND.ADDR:BND.PORT must be exactly that endpoint.
        // (The proxy's connect completes in the kernel; the echo server's accept loop may take a moment to see it.)
        var bound = new IPEndPoint(reply.BoundAddress.ToIPAddress(), reply.BoundAddress.Port);
        await Eventually.AssertAsync(() => echo.AcceptedFrom.Count == 1, () => "the echo server has not accepted the proxy's connection");
        Assert.Equal(bound, Assert.Single(echo.AcceptedFrom));
    }

    internal static async Task AssertEchoesAsync(SocksTestClient client, byte[] payload)
    {
        await client.SendAsync(payload);
        Assert.Equal(payload, await client.ReceiveExactlyAsync(payload.Length));
    }

    internal static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var mismatch = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(mismatch == expected.Length, $"First differing byte at offset {mismatch} of {expected.Length}.");
    }
}
