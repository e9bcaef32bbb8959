using System.Net;
using System.Text;
using KestrelSocks.Authentication;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>A password guesser is slowed, then blocked, by its address; a user at another address is served as before.</summary>
public sealed class AuthenticationThrottlingTests : IDisposable
{
    private const string Password = "correct horse battery staple";

    private static readonly IPAddress s_guesser = IPAddress.Parse("127.0.0.2");

    private readonly ITestOutputHelper _output;
    private readonly string _usersFile = Path.Combine(Path.GetTempPath(), $"kestrelsocks-throttle-{Guid.NewGuid():N}");

    public AuthenticationThrottlingTests(ITestOutputHelper output)
    {
        _output = output;
        File.WriteAllText(_usersFile, $"alice:{PasswordHash.Create(Encoding.UTF8.GetBytes(Password), PasswordHash.MinIterations)}:staff\n");
    }

    public void Dispose() => File.Delete(_usersFile);

    [Fact]
    public async Task Guesser_IsDelayedThenBlocked_WhileAnotherAddressIsServed()
    {
        await using var host = await ProxyHost.StartAsync(_output,
            "--KestrelSocks:Authentication:AllowAnonymous=false",
            "--KestrelSocks:Authentication:UsernamePassword=true",
            $"--KestrelSocks:Authentication:UsersFile={_usersFile}",
            "--KestrelSocks:Authentication:HashIterations=1000",
            "--KestrelSocks:Authentication:FailuresBeforeDelay=2",
            "--KestrelSocks:Authentication:FailureDelay=00:00:00.050",
            "--KestrelSocks:Authentication:MaxFailureDelay=00:00:00.100",
            "--KestrelSocks:Authentication:FailuresBeforeBlock=4",
            "--KestrelSocks:Authentication:BlockDuration=00:10:00");
        await using var echo = EchoServer.Start();

        // Two failures answered at once, two after a delay; the fourth blocks the address.
        string[] guesses = ["mal\nlory", "alice", "alice", "nobody"];
        foreach (var user in guesses)
        {
            Assert.Equal(0x01, await AuthenticateAsync(host, s_guesser, user, "guess"));
        }

        await host.AssertMetricAsync(2, "kestrelsocks_auth_failures_total", ("socks_auth_failure", "failed"));
        await host.AssertMetricAsync(2, "kestrelsocks_auth_failures_total", ("socks_auth_failure", "throttled"));
        await host.AssertMetricAsync(1, "kestrelsocks_auth_blocks_total");
        await host.Logs.AssertLoggedAsync("Client 127.0.0.2 blocked for 00:10:00 after 4 failed authentications");
        Assert.Single(host.Logs.Entries, e => e.Level == LogLevel.Warning && e.EventId.Id == 25);

        // Blocked: even the right password is refused, without a check.
        Assert.Equal(0x01, await AuthenticateAsync(host, s_guesser, "alice", Password));
        await host.AssertMetricAsync(1, "kestrelsocks_auth_failures_total", ("socks_auth_failure", "blocked"));

        // Another address is not held up by any of this.
        await using (var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint, IPAddress.Loopback))
        {
            Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
            Assert.Equal(0x00, await client.AuthenticateAsync("alice", Password));
            var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint));
            Assert.Equal(ReplyCode.Succeeded, reply.Reply);
            await ConnectTests.AssertEchoesAsync(client, "not throttled"u8.ToArray());
        }

        await host.Logs.AssertLoggedAsync("user alice: connect");
        await host.AssertMetricAsync(2, "kestrelsocks_auth_failures_total", ("socks_auth_failure", "throttled"));
        await host.AssertMetricAsync(5, "kestrelsocks_handshake_failures_total", ("error_type", "auth_failed"));

        // Every failure is logged with the address and the name tried, escaped; a wrong password and an unknown name alike.
        var failures = host.Logs.Entries.Where(e => e.EventId.Id == 23).Select(e => e.Message).ToList();
        Assert.Equal(5, failures.Count);
        Assert.All(failures, m => Assert.Contains("from 127.0.0.2", m, StringComparison.Ordinal));
        Assert.Contains("Authentication failed for user mal\\nlory from 127.0.0.2 (failed)", failures);
        Assert.Contains("Authentication failed for user nobody from 127.0.0.2 (throttled)", failures);
        Assert.Contains("Authentication failed for user alice from 127.0.0.2 (blocked)", failures);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains(Password, StringComparison.Ordinal) || e.Message.Contains("guess", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PipelinedGreetingCredentialsAndRequest_AreServedAfterTheAsynchronousCheck()
    {
        await using var host = await ProxyHost.StartAsync(_output,
            "--KestrelSocks:Authentication:AllowAnonymous=false",
            "--KestrelSocks:Authentication:UsernamePassword=true",
            $"--KestrelSocks:Authentication:UsersFile={_usersFile}",
            "--KestrelSocks:Authentication:HashIterations=1000");
        await using var echo = EchoServer.Start();
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        await client.SendAsync((byte[])
        [
            .. SocksTestClient.Greeting(AuthMethod.UsernamePassword),
            .. SocksTestClient.Credentials("alice", Password),
            .. SocksTestClient.Request(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint)),
            .. "early"u8,
        ]);

        Assert.Equal(AuthMethod.UsernamePassword, await client.ReadMethodSelectionAsync());
        Assert.Equal(0x00, await client.ReadAuthenticationStatusAsync());
        Assert.Equal(ReplyCode.Succeeded, (await client.ReadReplyAsync()).Reply);
        Assert.Equal("early"u8.ToArray(), await client.ReceiveExactlyAsync(5));
        await ConnectTests.AssertEchoesAsync(client, "after"u8.ToArray());
    }

    private static async Task<byte> AuthenticateAsync(ProxyHost host, IPAddress from, string user, string password)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint, from);
        Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
        var status = await client.AuthenticateAsync(user, password);
        await client.AssertClosedWithoutReplyAsync();
        return status;
    }
}
