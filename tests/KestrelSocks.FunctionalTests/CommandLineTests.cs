using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Diagnostics;
using KestrelSocks.Hosting;

namespace KestrelSocks.FunctionalTests;

/// <summary>The built executable's command line, settings files, log formats and start failures, as an operator meets them.</summary>
public sealed partial class CommandLineTests : IDisposable
{
    private static readonly string[] _listenOnPortZero = ["--KestrelSocks:Listen:0=127.0.0.1:0", "--KestrelSocks:Admin:Listen:0=127.0.0.1:0"];

    private readonly string _directory = Directory.CreateTempSubdirectory("kestrelsocks-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Help_ListsEveryOptionCommandTheSettingsFileAndTheExitCodes()
    {
        await using var server = ServerProcess.StartCommand("--help");

        Assert.Equal(0, await server.WaitForExitAsync());
        var help = server.StandardOutput;
        foreach (var expected in new[] { "--config FILE", "--contentRoot DIR", "--environment NAME", "--version", "--help", "check-config", "hash-password",
            "--Logging:Console:FormatterName=json", $"Settings file: {Path.Combine(AppContext.BaseDirectory, "appsettings.json")}" })
        {
            Assert.Contains(expected, help, StringComparison.Ordinal);
        }

        foreach (var code in new[] { ExitCodes.Success, ExitCodes.Unexpected, ExitCodes.InvalidConfiguration, ExitCodes.ListenFailed })
        {
            Assert.Matches($@"(?m)^  {code}  \w", help);
        }

        Assert.DoesNotContain("Listening for", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_PrintsTheVersionAndTheCommitItWasBuiltFrom()
    {
        await using var server = ServerProcess.StartCommand("--version");

        Assert.Equal(0, await server.WaitForExitAsync());
        var line = server.StandardOutput.Trim();
        Assert.Matches(@"^KestrelSocks \d+\.\d+\.\d+\S* \(commit [0-9a-f]{40}\)$", line);
        Assert.Equal($"KestrelSocks {BuildInfo.Current.Version} (commit {BuildInfo.Current.Commit})", line);
    }

    [Fact]
    public async Task CheckConfig_OnValidSettings_SaysOk_WithoutListening()
    {
        // The listener's port is taken: a check that tried to listen would fail with exit code 3.
        using var occupant = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupant.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupant.Listen();
        await using var server = ServerProcess.StartCommand("check-config", $"--KestrelSocks:Listen:0={occupant.LocalEndPoint}");

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.StartsWith("OK: the configuration is valid", server.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), server.StandardOutput, StringComparison.Ordinal);
        Assert.Empty(server.StandardError);
    }

    [Fact]
    public async Task CheckConfig_OnBadSettingsAndAMissingUsersFile_NamesEachAndExits2()
    {
        await using var server = ServerProcess.StartCommand("check-config", "--KestrelSocks:Limits:IdelTimeout=00:00:01",
            "--KestrelSocks:Authentication:UsernamePassword=true", $"--KestrelSocks:Authentication:UsersFile={Path.Combine(_directory, "missing.users")}");

        Assert.Equal(ExitCodes.InvalidConfiguration, await server.WaitForExitAsync());
        Assert.Contains("KestrelSocks:Limits:IdelTimeout is not a setting; did you mean KestrelSocks:Limits:IdleTimeout?", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("KestrelSocks:Authentication:UsersFile", server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("OK", server.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--KestrelSocks:Limitz:Foo=1", "KestrelSocks:Limitz is not a setting; did you mean KestrelSocks:Limits?")]
    [InlineData("--KestrelSocks:Limits:IdelTimeout=00:00:01", "did you mean KestrelSocks:Limits:IdleTimeout?")]
    [InlineData("--KestrelSocks:Limits:PerUser:MaxSesions=1", "did you mean KestrelSocks:Limits:PerUser:MaxSessions?")]
    [InlineData("--KestrelSocks:Access:DeniedDestinations=127.0.0.0/8", "KestrelSocks:Access:DeniedDestinations is a list")]
    [InlineData("--KestrelSocks:Access:Rules:0:Nmae=x", "did you mean KestrelSocks:Access:Rules:0:Name?")]
    [InlineData("--KestrelSocks:Authentication:Users:0:Pasword=x", "did you mean KestrelSocks:Authentication:Users:0:Password?")]
    [InlineData("--KestrelSocks:Admin:Listen=127.0.0.1:9464", "KestrelSocks:Admin:Listen is a list")]
    [InlineData("--KestrelSocks:Udp:Enabeld=false", "did you mean KestrelSocks:Udp:Enabled?")]
    public async Task UnknownOrUnindexedKey_StopsTheStart_NamingItAndTheClosestValidKey(string setting, string expected)
    {
        await using var server = ServerProcess.Start(setting);

        Assert.Equal(ExitCodes.InvalidConfiguration, await server.WaitForExitAsync());
        Assert.Contains(expected, server.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Listening for SOCKS5", server.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MisspeltKey_IsReported_EvenBesideAValueTheBinderCannotConvert()
    {
        await using var server = ServerProcess.Start("--KestrelSocks:Limits:IdelTimeout=00:00:01", "--KestrelSocks:Udp:Enabled=maybe");

        Assert.Equal(ExitCodes.InvalidConfiguration, await server.WaitForExitAsync());
        Assert.Contains("did you mean KestrelSocks:Limits:IdleTimeout?", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListInAnEnvironmentVariableWithoutAnIndex_StopsTheStart()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string?> { ["KestrelSocks__Listen"] = "0.0.0.0:1080" });

        Assert.Equal(ExitCodes.InvalidConfiguration, await server.WaitForExitAsync());
        Assert.Contains("KestrelSocks:Listen is a list", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MistypedCommand_IsRefusedWithTheClosestOne()
    {
        await using var server = ServerProcess.StartCommand("chek-config");

        Assert.Equal(ExitCodes.InvalidConfiguration, await server.WaitForExitAsync());
        Assert.Contains("did you mean check-config?", server.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartedFromAnotherDirectory_AppliesItsOwnAppSettings()
    {
        // appsettings.json quietens Microsoft.AspNetCore to Warning; without it a scrape writes Information lines.
        await using var server = ServerProcess.StartCommandIn(_directory, _listenOnPortZero);
        var admin = await server.WaitForAdminEndPointAsync();
        await ScrapeAsync(admin);
        Assert.Equal(0, await server.TerminateAsync());

        Assert.Contains($"content root {AppContext.BaseDirectory}", server.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.AspNetCore.Hosting.Diagnostics", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigFile_AppliesOverAppSettings_AndTheCommandLineWinsOverIt()
    {
        var file = Path.Combine(_directory, "site.json");
        await File.WriteAllTextAsync(file, """
            { "Logging": { "LogLevel": { "Microsoft.AspNetCore": "Information" } },
              "KestrelSocks": { "Limits": { "DrainTimeout": "00:00:07" } } }
            """);

        // A relative path, from the working directory; the command line then sets DrainTimeout again.
        await using var server = ServerProcess.StartCommandIn(_directory, [.. _listenOnPortZero, "--config", "site.json", "--KestrelSocks:Limits:DrainTimeout=00:00:09"]);
        var admin = await server.WaitForAdminEndPointAsync();
        await ScrapeAsync(admin);
        Assert.Equal(0, await server.TerminateAsync());

        Assert.Contains("Microsoft.AspNetCore.Hosting.Diagnostics", server.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("open sessions get up to 00:00:09", server.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContentRootSetByTheOperator_IsWhereAppSettingsIsRead()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, "appsettings.json"), """{ "KestrelSocks": { "Limits": { "IdelTimeout": "00:00:01" } } }""");

        await using var chosen = ServerProcess.StartCommand("check-config", "--contentRoot", _directory);
        await using var missing = ServerProcess.StartCommand("check-config", "--contentRoot", Path.Combine(_directory, "absent"));

        Assert.Equal(ExitCodes.InvalidConfiguration, await chosen.WaitForExitAsync());
        Assert.Contains("did you mean KestrelSocks:Limits:IdleTimeout?", chosen.StandardError, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InvalidConfiguration, await missing.WaitForExitAsync());
        Assert.Contains($"the content root {Path.Combine(_directory, "absent")} (--contentRoot", missing.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigFile_ThatIsMissingOrNotJson_StopsTheStartWithExitCode2()
    {
        var broken = Path.Combine(_directory, "broken.json");
        await File.WriteAllTextAsync(broken, "{ \"KestrelSocks\": ");

        await using var missing = ServerProcess.Start("--config", Path.Combine(_directory, "absent.json"));
        await using var invalid = ServerProcess.Start("--config", broken);

        Assert.Equal(ExitCodes.InvalidConfiguration, await missing.WaitForExitAsync());
        Assert.Contains("absent.json does not exist", missing.StandardError, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InvalidConfiguration, await invalid.WaitForExitAsync());
        Assert.StartsWith($"KestrelSocks cannot start: --config {broken}: ", invalid.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_AreOneTimestampedLinePerEvent_AndNameNoSocksListenerHttp()
    {
        await using var server = ServerProcess.Start();
        var socks = await server.WaitForSocksEndPointAsync();
        await server.WaitForAdminEndPointAsync();
        Assert.Equal(0, await server.TerminateAsync());

        var lines = server.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.Matches(SingleLine(), line));
        Assert.Contains(lines, line => line.Contains($"[50] KestrelSocks {BuildInfo.Current.Version} (commit {BuildInfo.Current.Commit}) started", StringComparison.Ordinal));
        Assert.DoesNotContain($"http://{socks}", server.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_AreJson_WhenTheFormatterIsChosenByConfiguration()
    {
        await using var server = ServerProcess.Start("--Logging:Console:FormatterName=json");
        await server.WaitForAdminEndPointAsync();
        Assert.Equal(0, await server.TerminateAsync());

        var events = server.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(static line => JsonDocument.Parse(line).RootElement)
            .ToList();
        Assert.All(events, e => Assert.True(DateTimeOffset.TryParse(e.GetProperty("Timestamp").GetString(), out _), e.ToString()));
        var started = Assert.Single(events, static e => e.GetProperty("EventId").GetInt32() == 50);
        Assert.Equal("KestrelSocks.Hosting.StartupReporter", started.GetProperty("Category").GetString());
        Assert.Equal(BuildInfo.Current.Commit, started.GetProperty("State").GetProperty("Commit").GetString());
        Assert.Contains(events, static e => e.GetProperty("Message").GetString()!.StartsWith("Listening for SOCKS5 on ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ListenAddressInUse_IsOneCleanLine_WithExitCode3()
    {
        using var occupant = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupant.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupant.Listen();
        var taken = (IPEndPoint)occupant.LocalEndPoint!;
        await using var server = ServerProcess.Start($"--KestrelSocks:Listen:0={taken}");

        Assert.Equal(ExitCodes.ListenFailed, await server.WaitForExitAsync());
        Assert.Equal($"KestrelSocks cannot start: cannot listen for SOCKS5 on {taken} (KestrelSocks:Listen): Address already in use.",
            server.StandardError.Trim());
        Assert.DoesNotContain("   at ", server.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedUdpPortInUse_NamesTheSetting_WithExitCode3()
    {
        using var occupant = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        occupant.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        var port = ((IPEndPoint)occupant.LocalEndPoint!).Port;
        await using var server = ServerProcess.Start("--KestrelSocks:Udp:Mode=Shared", $"--KestrelSocks:Udp:SharedPort={port}");

        Assert.Equal(ExitCodes.ListenFailed, await server.WaitForExitAsync());
        Assert.Equal($"KestrelSocks cannot start: cannot listen for SOCKS5 UDP on [::]:{port} (KestrelSocks:Udp:SharedPort): Address already in use.",
            server.StandardError.Trim());
        Assert.DoesNotContain("   at ", server.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminAddressInUse_NamesTheAdminSetting()
    {
        using var occupant = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        occupant.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupant.Listen();
        await using var server = ServerProcess.Start($"--KestrelSocks:Admin:Listen:0={occupant.LocalEndPoint}");

        Assert.Equal(ExitCodes.ListenFailed, await server.WaitForExitAsync());
        Assert.Contains($"cannot listen for metrics and health (HTTP) on {occupant.LocalEndPoint} (KestrelSocks:Admin:Listen)", server.StandardError, StringComparison.Ordinal);
    }

    private static async Task ScrapeAsync(IPEndPoint admin)
    {
        using var client = new HttpClient { Timeout = TestTimeouts.Long };
        using var response = await client.GetAsync(new Uri($"http://{admin}/metrics"));
        response.EnsureSuccessStatusCode();
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trce|dbug|info|warn|fail|crit): [\w.]+\[\d+\] \S")]
    private static partial Regex SingleLine();
}
