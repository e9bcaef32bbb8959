using System.Net;
using System.Net.Sockets;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;

namespace KestrelSocks.FunctionalTests;

/// <summary>The built executable, started as a real process: bad settings stop it with a useful message, and secrets stay secret.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("--KestrelSocks:Limits:HandshakeTimeout=-00:00:01", "KestrelSocks:Limits:HandshakeTimeout")]
    [InlineData("--KestrelSocks:Listen:0=nonsense", "KestrelSocks:Listen:0")]
    [InlineData("--KestrelSocks:Admin:Listen:0=localhost", "KestrelSocks:Admin:Listen:0")]
    [InlineData("--KestrelSocks:Authentication:UsernamePassword=true", "KestrelSocks:Authentication:Users")]
    [InlineData("--KestrelSocks:Limits:IdleTimeout=abc", "KestrelSocks:Limits:IdleTimeout")]
    [InlineData("--KestrelSocks:Limits:MaxConcurrentSessions=0", "KestrelSocks:Limits:MaxConcurrentSessions")]
    [InlineData("--KestrelSocks:Access:DeniedDestinations:0=10.0.0.0/99", "KestrelSocks:Access:DeniedDestinations:0")]
    public async Task BadSetting_ExitsNonZeroAndNamesTheSetting(string setting, string key)
    {
        await using var server = ServerProcess.Start(setting);

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode != 0, $"Exit code 0. Output:{Environment.NewLine}{server.AllOutput}");
        Assert.Contains(key, server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Listening for SOCKS5", server.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListenerOtherHostsCanReach_WithNoUsers_RefusesToStartAnonymous()
    {
        // The embedded defaults take anonymous clients only on loopback: listening on every interface needs users, or
        // AllowAnonymous=true in so many words.
        await using var server = ServerProcess.Start("--KestrelSocks:Listen:0=0.0.0.0:0");

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("KestrelSocks:Authentication:AllowAnonymous", server.StandardError, StringComparison.Ordinal);

        await using var explicitlyOpen = ServerProcess.Start("--KestrelSocks:Listen:0=0.0.0.0:0", "--KestrelSocks:Authentication:AllowAnonymous=true");
        await explicitlyOpen.WaitForSocksEndPointAsync();
        await explicitlyOpen.WaitForOutputAsync("anonymous access is on");
    }

    [Fact]
    public async Task SeveralBadSettings_AreAllReportedAtOnce()
    {
        await using var server = ServerProcess.Start(
            "--KestrelSocks:Limits:HandshakeTimeout=-00:00:01",
            "--KestrelSocks:Limits:MaxConcurrentSessions=0",
            "--KestrelSocks:Listen:0=nonsense");

        Assert.NotEqual(0, await server.WaitForExitAsync());
        Assert.Contains("KestrelSocks:Limits:HandshakeTimeout", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("KestrelSocks:Limits:MaxConcurrentSessions", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("KestrelSocks:Listen:0", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Password_NeverAppearsInOutput_AfterFailedAndSuccessfulLogins()
    {
        const string Password = "pw-5d1c0a7e-must-never-be-printed";
        const string WrongPassword = "pw-9b2f4e61-must-never-be-printed";
        await using var echo = EchoServer.Start();
        await using var server = ServerProcess.Start(
            "--KestrelSocks:Authentication:AllowAnonymous=false",
            "--KestrelSocks:Authentication:UsernamePassword=true",
            "--KestrelSocks:Authentication:Users:0:Username=alice",
            $"--KestrelSocks:Authentication:Users:0:Password={Password}",
            "--Logging:LogLevel:Default=Trace");
        var socks = await server.WaitForSocksEndPointAsync();

        await using (var client = await SocksTestClient.ConnectAsync(socks))
        {
            Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
            Assert.Equal(0x01, await client.AuthenticateAsync("alice", WrongPassword));
            await client.AssertClosedWithoutReplyAsync();
        }

        await using (var client = await SocksTestClient.ConnectAsync(socks))
        {
            Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
            Assert.Equal(0x00, await client.AuthenticateAsync("alice", Password));
            var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));
            Assert.Equal(ReplyCode.Succeeded, reply.Reply);
            await ConnectTests.AssertEchoesAsync(client, "logged in"u8.ToArray());
        }

        // Both logins have been logged (the log is asynchronous): only then is the output complete enough to check.
        await server.WaitForOutputAsync("handshake failed (auth_failed)");
        await server.WaitForOutputAsync("user alice: connect");

        Assert.DoesNotContain(Password, server.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongPassword, server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Password_NeverAppearsInConfigurationErrors()
    {
        const string Password = "pw-0c8d2b95-must-never-be-printed";
        var tooLong = "pw-3e7a6f10-" + new string('x', 300);
        await using var server = ServerProcess.Start(
            "--KestrelSocks:Authentication:UsernamePassword=true",
            "--KestrelSocks:Authentication:Users:0:Username=alice",
            $"--KestrelSocks:Authentication:Users:0:Password={Password}",
            "--KestrelSocks:Authentication:Users:1:Username=alice",
            $"--KestrelSocks:Authentication:Users:1:Password={tooLong}");

        Assert.NotEqual(0, await server.WaitForExitAsync());
        Assert.Contains("KestrelSocks:Authentication:Users:1:Username", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("KestrelSocks:Authentication:Users:1:Password", server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, server.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-3e7a6f10", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListenAddressInUse_ExitsNonZeroAndNamesTheAddress()
    {
        using var occupant = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupant.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupant.Listen();
        var taken = (IPEndPoint)occupant.LocalEndPoint!;
        await using var server = ServerProcess.Start($"--KestrelSocks:Listen:0={taken}");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode != 0, $"Exit code 0. Output:{Environment.NewLine}{server.AllOutput}");
        Assert.Contains(taken.ToString(), server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidSettings_ProcessServesAndStopsCleanlyOnSigterm()
    {
        await using var echo = EchoServer.Start();
        await using var server = ServerProcess.Start();
        var socks = await server.WaitForSocksEndPointAsync();

        Assert.Equal(IPAddress.Loopback, socks.Address);
        Assert.NotEqual(0, socks.Port);
        await using (var client = await SocksTestClient.OpenTunnelAsync(socks, echo.EndPoint))
        {
            await ConnectTests.AssertEchoesAsync(client, "from a real process"u8.ToArray());
        }

        Assert.Equal(0, await server.TerminateAsync());
        Assert.Empty(server.StandardError);
    }
}
