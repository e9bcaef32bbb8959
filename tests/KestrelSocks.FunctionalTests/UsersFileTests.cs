using System.Text;
using KestrelSocks.Authentication;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Accounts from a users file of PBKDF2 hashes, re-read while the proxy runs, and the hash-password command that writes them.</summary>
public sealed class UsersFileTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _usersFile = Path.Combine(Path.GetTempPath(), $"kestrelsocks-users-{Guid.NewGuid():N}");

    public UsersFileTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public void Dispose() => File.Delete(_usersFile);

    [Fact]
    public async Task EditedWhileASessionRuns_TheSessionGoesOn_TheNewPasswordWorks_TheOldOneFails()
    {
        File.WriteAllText(_usersFile, $"# test users\nalice:{Hash("old password")}\n");
        await using var host = await StartAsync();
        await using var echo = EchoServer.Start();
        await using var session = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.UsernamePassword, await session.GreetAsync(AuthMethod.UsernamePassword));
        Assert.Equal(0x00, await session.AuthenticateAsync("alice", "old password"));
        Assert.Equal(ReplyCode.Succeeded, (await session.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(echo.EndPoint))).Reply);
        await ConnectTests.AssertEchoesAsync(session, "before the edit"u8.ToArray());

        File.WriteAllText(_usersFile, $"# test users\nalice:{Hash("new password")}\nbob:{Hash("bob's")}:ops\n");
        await WaitForLoadsAsync(host, 2);

        Assert.Equal(0x00, await AuthenticateAsync(host, "alice", "new password"));
        Assert.Equal(0x00, await AuthenticateAsync(host, "bob", "bob's"));
        Assert.Equal(0x01, await AuthenticateAsync(host, "alice", "old password"));
        await ConnectTests.AssertEchoesAsync(session, "after the edit"u8.ToArray());
    }

    [Fact]
    public async Task MalformedEdit_KeepsThePreviousUsers_AndWarnsWithTheLine()
    {
        File.WriteAllText(_usersFile, $"alice:{Hash("password")}\n");
        await using var host = await StartAsync();
        var newHash = Hash("new password");

        File.WriteAllText(_usersFile, $"alice:{newHash}\nbob:$pbkdf2-sha256$i=1000$short$short\n");
        await Eventually.AssertAsync(
            () => host.Logs.Entries.Any(e => e.EventId.Id == 22),
            () => "the malformed users file was never reported");

        var warning = host.Logs.Entries.First(e => e.EventId.Id == 22);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("line 2", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(newHash.Split('$')[4], warning.Message, StringComparison.Ordinal);
        Assert.Equal(0x00, await AuthenticateAsync(host, "alice", "password"));
        Assert.Equal(0x01, await AuthenticateAsync(host, "alice", "new password"));
    }

    [Fact]
    public async Task PlaintextUsers_WorkBesideTheFile_WithOneWarningAtStart()
    {
        const string Password = "pw-7f3e-plaintext";
        File.WriteAllText(_usersFile, $"carol:{Hash("carol's")}\n");
        await using var host = await StartAsync(
            "--KestrelSocks:Authentication:Users:0:Username=alice",
            $"--KestrelSocks:Authentication:Users:0:Password={Password}");

        Assert.Equal(0x00, await AuthenticateAsync(host, "alice", Password));
        Assert.Equal(0x00, await AuthenticateAsync(host, "carol", "carol's"));
        var warning = Assert.Single(host.Logs.Entries, e => e.EventId.Id == 20);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.DoesNotContain(Password, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedFileAtStart_ExitsNamingTheSettingAndTheLine_WithoutTheHash()
    {
        var hash = Hash("password");
        File.WriteAllText(_usersFile, $"alice:{hash}\nbob:{hash}:ops:extra\n");
        await using var server = ServerProcess.Start(
            "--KestrelSocks:Authentication:UsernamePassword=true",
            $"--KestrelSocks:Authentication:UsersFile={_usersFile}");

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("KestrelSocks:Authentication:UsersFile", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("line 2", server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain(hash.Split('$')[3], server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NameInTheFileAndInConfiguration_ExitsAtStart()
    {
        File.WriteAllText(_usersFile, $"alice:{Hash("password")}\n");
        await using var server = ServerProcess.Start(
            "--KestrelSocks:Authentication:UsernamePassword=true",
            $"--KestrelSocks:Authentication:UsersFile={_usersFile}",
            "--KestrelSocks:Authentication:Users:0:Username=alice",
            "--KestrelSocks:Authentication:Users:0:Password=pw-52c1-plaintext");

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains("KestrelSocks:Authentication:UsersFile", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("'alice' is also in KestrelSocks:Authentication:Users", server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-52c1", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HashPassword_PrintsALineTheProxyAccepts()
    {
        const string Password = "pw-1d9b correct horse";
        await using (var command = ServerProcess.StartCommand("hash-password", "--user", "alice", "--iterations", "1000"))
        {
            await command.StandardInput.WriteLineAsync(Password);
            command.StandardInput.Close();

            Assert.Equal(0, await command.WaitForExitAsync());
            var line = command.StandardOutput.Trim();
            Assert.StartsWith("alice:$pbkdf2-sha256$i=1000$", line, StringComparison.Ordinal);
            var accounts = new List<UserAccount>();
            var errors = new List<string>();
            Assert.True(UsersFile.TryParse(line, accounts, errors), string.Join("; ", errors));
            Assert.True(Assert.Single(accounts).Hash.Verify(Encoding.UTF8.GetBytes(Password)));
            Assert.DoesNotContain(Password, command.AllOutput, StringComparison.Ordinal);
            File.WriteAllText(_usersFile, line + "\n");
        }

        await using var host = await StartAsync();
        Assert.Equal(0x00, await AuthenticateAsync(host, "alice", Password));
    }

    [Fact]
    public async Task HashPassword_WithoutOptions_PrintsAHashAtTheDefaultCost()
    {
        await using var command = ServerProcess.StartCommand("hash-password");
        await command.StandardInput.WriteAsync("s3cret\nignored second line\n");
        command.StandardInput.Close();

        Assert.Equal(0, await command.WaitForExitAsync());
        Assert.True(PasswordHash.TryParse(command.StandardOutput.Trim(), out var hash, out var error), error);
        Assert.Equal(PasswordHash.DefaultIterations, hash.Iterations);
        Assert.True(hash.Verify("s3cret"u8));
    }

    [Theory]
    [InlineData("s3cret\n", "--iterations", "10")]
    [InlineData("s3cret\n", "--user", "ali:ce")]
    [InlineData("s3cret\n", "pw-on-the-command-line")]
    [InlineData("", "--user", "alice")]
    [InlineData("\n")]
    public async Task HashPassword_BadInput_ExitsTwoWithAMessage(string input, params string[] arguments)
    {
        await using var command = ServerProcess.StartCommand(["hash-password", .. arguments]);
        await command.StandardInput.WriteAsync(input);
        command.StandardInput.Close();

        Assert.Equal(2, await command.WaitForExitAsync());
        Assert.Contains("hash-password: ", command.StandardError, StringComparison.Ordinal);
        Assert.Equal("", command.StandardOutput);
        Assert.DoesNotContain("pw-on-the-command-line", command.AllOutput, StringComparison.Ordinal);
    }

    private static string Hash(string password) => PasswordHash.Create(Encoding.UTF8.GetBytes(password), PasswordHash.MinIterations).ToString();

    private static async Task WaitForLoadsAsync(ProxyHost host, int count) => await Eventually.AssertAsync(
        () => host.Logs.Entries.Count(e => e.EventId.Id == 21) >= count,
        () => $"the users file was loaded fewer than {count} times");

    private static async Task<byte> AuthenticateAsync(ProxyHost host, string user, string password)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.UsernamePassword, await client.GreetAsync(AuthMethod.UsernamePassword));
        return await client.AuthenticateAsync(user, password);
    }

    private Task<ProxyHost> StartAsync(params string[] settings) => ProxyHost.StartAsync(_output,
    [
        "--KestrelSocks:Authentication:AllowAnonymous=false",
        "--KestrelSocks:Authentication:UsernamePassword=true",
        $"--KestrelSocks:Authentication:UsersFile={_usersFile}",
        "--KestrelSocks:Authentication:HashIterations=1000",

        // Logins here are about the file, not the throttle.
        "--KestrelSocks:Authentication:FailuresBeforeDelay=1000",
        "--KestrelSocks:Authentication:FailuresBeforeBlock=1000",
        .. settings,
    ], configure: null);
}
