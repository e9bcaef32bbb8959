using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Method selection (RFC 1928 section 3) and username/password sub-negotiation (RFC 1929).</summary>
public sealed class AuthenticationTests
{
    private const string Username = "alice";
    private const string Password = "correct horse battery staple";

    private static readonly string[] s_userSettings =
    [
        "--KestrelSocks:Authentication:UsernamePassword=true",
        $"--KestrelSocks:Authentication:Users:0:Username={Username}",
        $"--KestrelSocks:Authentication:Users:0:Password={Password}",

        // The default cost takes a fifth of a second per login; these tests are about the protocol.
        "--KestrelSocks:Authentication:HashIterations=1000",
    ];

    private static readonly string[] s_passwordOnly = [.. s_userSettings, "--KestrelSocks:Authentication:AllowAnonymous=false"];

    private readonly ITestOutputHelper _output;

    public AuthenticationTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task UsernamePassword_RightCredentials_StatusZeroThenTunnelWorks()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
        Assert.Equal(0x00, await client.AuthenticateAsync(Username, Password));
        var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));

        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
        await ConnectTests.AssertEchoesAsync(client, "authenticated"u8.ToArray());
    }

    [Theory]
    [InlineData(Username, "wrong password")]
    [InlineData(Username, "")]
    [InlineData("mallory", Password)]
    [InlineData("", "")]
    public async Task UsernamePassword_WrongCredentials_StatusOneThenClosed(string username, string password)
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
        Assert.Equal(0x01, await client.AuthenticateAsync(username, password));

        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "auth_failed"));
    }

    [Fact]
    public async Task UsernamePassword_RequestPipelinedBehindWrongCredentials_IsNeverExecuted()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        await client.SendAsync((byte[])
        [
            .. SocksTestClient.Greeting(AuthMethod.UsernamePassword),
            .. SocksTestClient.Credentials(Username, "not the password"),
            .. SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint)),
        ]);

        Assert.Equal(AuthMethod.UsernamePassword, await client.ReadMethodSelectionAsync());
        Assert.Equal(0x01, await client.ReadAuthenticationStatusAsync());
        await client.AssertClosedWithoutReplyAsync();
        Assert.Empty(echo.AcceptedFrom);
    }

    [Fact]
    public async Task BothMethodsEnabled_ClientOffersBoth_ServerSelectsUsernamePassword()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_userSettings);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.NoAuthentication, AuthMethod.UsernamePassword));
        Assert.Equal(0x00, await client.AuthenticateAsync(Username, Password));
    }

    [Fact]
    public async Task BothMethodsEnabled_ClientOffersOnlyNoAuthentication_ServerSelectsNoAuthentication()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_userSettings);
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
        var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));
        Assert.Equal(ReplyCode.Succeeded, reply.Reply);
    }

    [Fact]
    public async Task PasswordRequired_ClientOffersOnlyNoAuthentication_NoAcceptableMethodThenClosed()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.NoAcceptableMethods, await client.GreetAsync(AuthMethod.NoAuthentication));

        await client.AssertClosedWithoutReplyAsync();
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "no_acceptable_method"));
    }

    [Fact]
    public async Task AnonymousOnly_ClientOffersOnlyGssapiAndPassword_NoAcceptableMethodThenClosed()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        Assert.Equal(AuthMethod.NoAcceptableMethods, await client.GreetAsync(AuthMethod.Gssapi, AuthMethod.UsernamePassword));

        await client.AssertClosedWithoutReplyAsync();
    }

    [Fact]
    public async Task UsernamePassword_BadSubnegotiationVersion_FailsAndCloses()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
        var credentials = SocksTestClient.Credentials(Username, Password);
        credentials[0] = 0x05;

        await client.SendAsync(credentials);

        // RFC 1929: any status other than 0 is a failure, and the server closes.
        var end = await client.ReadUntilClosedAsync();
        Assert.Equal(2, end.Data.Length);
        Assert.NotEqual(0x00, end.Data[1]);
    }
}
