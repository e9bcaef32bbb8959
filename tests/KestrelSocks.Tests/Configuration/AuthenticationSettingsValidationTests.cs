using KestrelSocks.Authentication;
using KestrelSocks.Configuration;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Tests.Configuration;

/// <summary>The users file and throttling settings, checked at start like every other setting.</summary>
public sealed class AuthenticationSettingsValidationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kestrelsocks-validate-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string, string> BadSettings => new()
    {
        { "hash-iterations-too-low", "KestrelSocks:Authentication:HashIterations" },
        { "hash-iterations-too-high", "KestrelSocks:Authentication:HashIterations" },
        { "max-verifications-negative", "KestrelSocks:Authentication:MaxConcurrentVerifications" },
        { "failures-before-delay-negative", "KestrelSocks:Authentication:FailuresBeforeDelay" },
        { "failures-before-block-zero", "KestrelSocks:Authentication:FailuresBeforeBlock" },
        { "failure-delay-negative", "KestrelSocks:Authentication:FailureDelay" },
        { "max-failure-delay-below-failure-delay", "KestrelSocks:Authentication:MaxFailureDelay" },
        { "block-duration-zero", "KestrelSocks:Authentication:BlockDuration" },
        { "failure-window-zero", "KestrelSocks:Authentication:FailureWindow" },
        { "max-tracked-zero", "KestrelSocks:Authentication:MaxTrackedClients" },
        { "failure-logs-zero", "KestrelSocks:Authentication:FailureLogsPerSecond" },
        { "group-with-control-character", "KestrelSocks:Authentication:Users:0:Groups" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void BadSetting_IsReportedOnceWithItsFullKey(string setting, string key)
    {
        var options = new KestrelSocksOptions();
        var authentication = options.Authentication;
        switch (setting)
        {
            case "hash-iterations-too-low": authentication.HashIterations = 999; break;
            case "hash-iterations-too-high": authentication.HashIterations = PasswordHash.MaxIterations + 1; break;
            case "max-verifications-negative": authentication.MaxConcurrentVerifications = -1; break;
            case "failures-before-delay-negative": authentication.FailuresBeforeDelay = -1; break;
            case "failures-before-block-zero": authentication.FailuresBeforeBlock = 0; break;
            case "failure-delay-negative": authentication.FailureDelay = TimeSpan.FromSeconds(-1); authentication.MaxFailureDelay = TimeSpan.FromSeconds(1); break;
            case "max-failure-delay-below-failure-delay": authentication.MaxFailureDelay = TimeSpan.FromMilliseconds(500); break;
            case "block-duration-zero": authentication.BlockDuration = TimeSpan.Zero; break;
            case "failure-window-zero": authentication.FailureWindow = TimeSpan.Zero; break;
            case "max-tracked-zero": authentication.MaxTrackedClients = 0; break;
            case "failure-logs-zero": authentication.FailureLogsPerSecond = 0; break;
            case "group-with-control-character": authentication.Users.Add(new SocksUser { Username = "a", Password = "p", Groups = ["o\nps"] }); break;
        }

        var result = new KestrelSocksOptionsValidator().Validate(Options.DefaultName, options);

        Assert.True(result.Failed);
        Assert.Contains(key, Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void UsernamePassword_WithOnlyAUsersFile_Validates()
    {
        var options = new KestrelSocksOptions();
        options.Authentication.UsernamePassword = true;
        options.Authentication.UsersFile = "users";

        var result = new KestrelSocksOptionsValidator().Validate(Options.DefaultName, options);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void UsersFile_Missing_IsReportedWithTheSetting()
    {
        var result = ValidateFile(text: null);

        Assert.Contains("KestrelSocks:Authentication:UsersFile", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void UsersFile_EveryBadLine_IsReportedWithTheSettingAndItsLine()
    {
        var hash = PasswordHash.Create("pw"u8, PasswordHash.MinIterations).ToString();

        var result = ValidateFile($"good:{hash}\nbad\n# fine\nworse:{hash}x\n");

        var failures = result.Failures!.ToList();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.StartsWith("KestrelSocks:Authentication:UsersFile '", f, StringComparison.Ordinal));
        Assert.Contains("line 2: ", failures[0], StringComparison.Ordinal);
        Assert.Contains("line 4: ", failures[1], StringComparison.Ordinal);
        Assert.DoesNotContain(hash.Split('$')[4], result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void UsersFile_Good_Validates()
    {
        var result = ValidateFile($"good:{PasswordHash.Create("pw"u8, PasswordHash.MinIterations)}\n");

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    private ValidateOptionsResult ValidateFile(string? text)
    {
        if (text is not null)
        {
            File.WriteAllText(Path.Combine(_directory, "users"), text);
        }

        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = "users";
        return new UsersFileValidator(new HostingEnvironment { ContentRootPath = _directory }).Validate(Options.DefaultName, options);
    }
}
