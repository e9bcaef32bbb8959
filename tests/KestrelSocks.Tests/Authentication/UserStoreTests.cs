using System.Text;
using KestrelSocks.Authentication;
using KestrelSocks.Configuration;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KestrelSocks.Tests.Authentication;

public sealed class UserStoreTests : IDisposable
{
    private const int Iterations = PasswordHash.MinIterations;

    private static readonly string _longUsername = new('U', 255);
    private static readonly string _longPassword = new('P', 255);

    private readonly string _directory = Directory.CreateTempSubdirectory("kestrelsocks-users-").FullName;
    private readonly FakeLogger _logger = new();
    private readonly List<int> _derivations = [];

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("alice", "secret")]
    [InlineData("bob", "hunter2")]
    [InlineData("jürgen", "pässwörd")]
    public void RightUserAndPassword_SucceedsWithTheIdentity(string username, string password)
    {
        using var store = CreateStore(Plaintext(("alice", "secret"), ("bob", "hunter2"), ("jürgen", "pässwörd")));

        Assert.Equal(username, Verify(store, username, password)?.Name);
    }

    [Theory]
    [InlineData("alice", "hunter2")]
    [InlineData("alice", "Secret")]
    [InlineData("alice", "secre")]
    [InlineData("alice", "secret ")]
    [InlineData("alice", "")]
    [InlineData("bob", "secret")]
    [InlineData("carol", "secret")]
    [InlineData("Alice", "secret")]
    [InlineData("alice ", "secret")]
    [InlineData("", "secret")]
    [InlineData("", "")]
    public void WrongPasswordOrUnknownUser_Fails(string username, string password)
    {
        using var store = CreateStore(Plaintext(("alice", "secret"), ("bob", "hunter2")));

        Assert.Null(Verify(store, username, password));
    }

    [Fact]
    public void Credentials255BytesLong_Succeed()
    {
        using var store = CreateStore(Plaintext((_longUsername, _longPassword)));

        Assert.Equal(_longUsername, Verify(store, _longUsername, _longPassword)?.Name);
        Assert.Null(Verify(store, _longUsername, _longPassword[..254]));
        Assert.Null(Verify(store, _longUsername[..254], _longPassword));
    }

    [Fact]
    public void EmptyUsernameAndPassword_ConfiguredAndUsed_Succeeds()
    {
        using var store = CreateStore(Plaintext(("", "")));

        Assert.Equal("", Verify(store, "", "")?.Name);
        Assert.Null(Verify(store, "", "x"));
        Assert.Null(Verify(store, "x", ""));
    }

    [Fact]
    public void InvalidUtf8Username_DoesNotMatchANameWithAReplacementCharacter()
    {
        using var store = CreateStore(Plaintext(("\uFFFD", "secret")));

        Assert.Null(store.Verify(new UsernamePasswordRequest([0xFF], "secret"u8)));
        Assert.NotNull(Verify(store, "\uFFFD", "secret"));
    }

    [Fact]
    public void PlaintextUser_Groups_AreTheIdentitys()
    {
        var options = Plaintext(("alice", "secret"));
        options.Authentication.Users[0].Groups = ["ops", "admins"];
        using var store = CreateStore(options);

        Assert.Equal(["ops", "admins"], Verify(store, "alice", "secret")!.Groups);
    }

    [Fact]
    public void UnknownUser_CostsOneDerivationAtTheConfiguredCost_AsAKnownUserDoes()
    {
        var options = Plaintext(("alice", "secret"));
        options.Authentication.HashIterations = 1234;
        using var store = CreateStore(options, countDerivations: true);
        _derivations.Clear();

        Verify(store, "alice", "wrong");
        Verify(store, "alice", "secret");
        Verify(store, "mallory", "secret");
        store.Verify(new UsernamePasswordRequest([0xFF, 0xFE], "secret"u8));

        Assert.Equal([1234, 1234, 1234, 1234], _derivations);
    }

    [Fact]
    public void UnknownUser_WithTheDefaultSettings_IsCheckedAtTheDefaultCost()
    {
        using var store = CreateStore(new KestrelSocksOptions(), countDerivations: true);
        _derivations.Clear();

        Verify(store, "mallory", "secret");

        Assert.Equal(PasswordHash.DefaultIterations, store.UnknownUserIterations);
        Assert.Equal([PasswordHash.DefaultIterations], _derivations);
    }

    [Fact]
    public void UsersFile_AndPlaintextUsers_AreUsedTogether()
    {
        var path = WriteUsersFile($"carol:{Hash("c-pass")}:ops,dev\n");
        var options = Plaintext(("alice", "secret"));
        options.Authentication.UsersFile = path;
        using var store = CreateStore(options);

        Assert.Equal(2, store.Count);
        Assert.Equal("alice", Verify(store, "alice", "secret")?.Name);
        var carol = Verify(store, "carol", "c-pass");
        Assert.Equal(["ops", "dev"], carol!.Groups);
        Assert.Null(Verify(store, "carol", "secret"));
    }

    [Fact]
    public void UsersFile_RelativePath_ResolvesAgainstTheContentRoot()
    {
        WriteUsersFile($"carol:{Hash("c-pass")}\n", "users.txt");
        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = "users.txt";
        using var store = CreateStore(options);

        Assert.Equal(Path.Combine(_directory, "users.txt"), store.UsersFilePath);
        Assert.NotNull(Verify(store, "carol", "c-pass"));
    }

    [Fact]
    public async Task FileUser_IsCheckedAtItsOwnCost_AndACostOtherThanTheDefaultIsReported()
    {
        var path = WriteUsersFile($"carol:{PasswordHash.Create("c-pass"u8, 2000)}\n");
        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = path;
        options.Authentication.HashIterations = Iterations;
        using var store = CreateStore(options, countDerivations: true);
        _derivations.Clear();

        Verify(store, "carol", "c-pass");
        await store.StartAsync(CancellationToken.None);

        Assert.Equal([2000], _derivations);
        Assert.Contains(_logger.Collector.GetSnapshot(), r => r.Id.Id == 26 && r.Level == LogLevel.Warning);
    }

    [Fact]
    public void Reload_SeesAChangedPasswordAndANewUser()
    {
        var path = WriteUsersFile($"carol:{Hash("old")}\n");
        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = path;
        options.Authentication.HashIterations = Iterations;
        using var store = CreateStore(options);

        File.WriteAllText(path, $"carol:{Hash("new")}\ndave:{Hash("d")}:ops\n");

        Assert.True(store.ReloadUsersFile());
        Assert.Null(Verify(store, "carol", "old"));
        Assert.NotNull(Verify(store, "carol", "new"));
        Assert.Equal(["ops"], Verify(store, "dave", "d")!.Groups);
        Assert.Contains(_logger.Collector.GetSnapshot(), r => r.Id.Id == 21 && r.Message.Contains("2 account(s)", StringComparison.Ordinal));
    }

    [Fact]
    public void Reload_MalformedEdit_KeepsThePreviousUsersAndWarnsWithTheLine()
    {
        var path = WriteUsersFile($"carol:{Hash("old")}\n");
        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = path;
        options.Authentication.HashIterations = Iterations;
        using var store = CreateStore(options);
        var newHash = Hash("new");

        File.WriteAllText(path, $"# edited\ncarol:{newHash}\ndave:broken\n");

        Assert.False(store.ReloadUsersFile());
        Assert.NotNull(Verify(store, "carol", "old"));
        Assert.Null(Verify(store, "carol", "new"));
        var warning = Assert.Single(_logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Equal(22, warning.Id.Id);
        Assert.Contains("line 3", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(newHash.Split('$')[4], warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reload_FileGone_KeepsThePreviousUsers()
    {
        var path = WriteUsersFile($"carol:{Hash("old")}\n");
        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = path;
        options.Authentication.HashIterations = Iterations;
        using var store = CreateStore(options);

        File.Delete(path);

        Assert.False(store.ReloadUsersFile());
        Assert.NotNull(Verify(store, "carol", "old"));
    }

    [Fact]
    public void Reload_NameAlsoInConfiguration_IsRefused()
    {
        var path = WriteUsersFile($"carol:{Hash("c")}\n");
        var options = Plaintext(("alice", "secret"));
        options.Authentication.UsersFile = path;
        using var store = CreateStore(options);

        File.WriteAllText(path, $"carol:{Hash("c")}\nalice:{Hash("other")}\n");

        Assert.False(store.ReloadUsersFile());
        Assert.NotNull(Verify(store, "alice", "secret"));
        Assert.Null(Verify(store, "alice", "other"));
    }

    [Fact]
    public async Task Start_WithPlaintextUsers_WarnsOnceWithoutThePassword()
    {
        using var store = CreateStore(Plaintext(("alice", "pw-13a7-not-in-logs"), ("bob", "pw-13a7-not-in-logs")));

        await store.StartAsync(CancellationToken.None);

        var warning = Assert.Single(_logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning);
        Assert.Equal(20, warning.Id.Id);
        Assert.Contains("2 account(s)", warning.Message, StringComparison.Ordinal);
        Assert.Contains("UsersFile", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-13a7", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_WithoutPlaintextUsers_DoesNotWarn()
    {
        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = WriteUsersFile($"carol:{Hash("c")}\n");
        options.Authentication.HashIterations = Iterations;
        using var store = CreateStore(options);

        await store.StartAsync(CancellationToken.None);

        Assert.DoesNotContain(_logger.Collector.GetSnapshot(), r => r.Level >= LogLevel.Warning);
    }

    private static string Hash(string password) => PasswordHash.Create(Encoding.UTF8.GetBytes(password), Iterations).ToString();

    [Fact]
    public void RecentLogin_IsAcceptedWithoutAFullCheck_OnlyForTheSameCredentials_AndOnlyWithinItsTime()
    {
        var time = new FakeTimeProvider();
        var options = Plaintext(("alice", "secret"));
        options.Authentication.RecentLoginTtl = TimeSpan.FromMinutes(5);
        using var store = CreateStore(options, countDerivations: false, time, countRealDerivations: true);
        _derivations.Clear();

        Assert.Null(VerifyRecent(store, "alice", "secret"));
        Assert.Equal("alice", Verify(store, "alice", "secret")?.Name);
        Assert.Single(_derivations);

        // The same credentials again: one HMAC, no derivation.
        Assert.Equal("alice", VerifyRecent(store, "alice", "secret")?.Name);
        Assert.Single(_derivations);

        // Anything else is not remembered: a wrong password, another name, the same bytes split differently.
        Assert.Null(VerifyRecent(store, "alice", "secreT"));
        Assert.Null(VerifyRecent(store, "alic", "esecret"));
        Assert.Null(VerifyRecent(store, "bob", "secret"));

        // A failure is never remembered.
        Assert.Null(Verify(store, "alice", "wrong"));
        Assert.Null(VerifyRecent(store, "alice", "wrong"));

        time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.Null(VerifyRecent(store, "alice", "secret"));
    }

    [Fact]
    public void RecentLogin_EndsWhenAReloadChangesTheAccount()
    {
        var path = WriteUsersFile($"carol:{Hash("old")}\n");
        var options = new KestrelSocksOptions();
        options.Authentication.UsersFile = path;
        options.Authentication.HashIterations = Iterations;
        using var store = CreateStore(options);
        Assert.NotNull(Verify(store, "carol", "old"));
        Assert.NotNull(VerifyRecent(store, "carol", "old"));

        File.WriteAllText(path, $"carol:{Hash("new")}\n");
        Assert.True(store.ReloadUsersFile());

        Assert.Null(VerifyRecent(store, "carol", "old"));
        Assert.Null(Verify(store, "carol", "old"));
    }

    [Fact]
    public void RecentLogin_ZeroTimeToLive_RemembersNothing()
    {
        var options = Plaintext(("alice", "secret"));
        options.Authentication.RecentLoginTtl = TimeSpan.Zero;
        using var store = CreateStore(options);

        Assert.NotNull(Verify(store, "alice", "secret"));
        Assert.Null(VerifyRecent(store, "alice", "secret"));
    }

    private static UserIdentity? VerifyRecent(UserStore store, string username, string password) =>
        store.VerifyRecent(new UsernamePasswordRequest(Encoding.UTF8.GetBytes(username), Encoding.UTF8.GetBytes(password)));

    private static UserIdentity? Verify(UserStore store, string username, string password) =>
        store.Verify(new UsernamePasswordRequest(Encoding.UTF8.GetBytes(username), Encoding.UTF8.GetBytes(password)));

    private static KestrelSocksOptions Plaintext(params (string Username, string Password)[] users)
    {
        var options = new KestrelSocksOptions();
        options.Authentication.HashIterations = Iterations;
        foreach (var (username, password) in users)
        {
            options.Authentication.Users.Add(new SocksUser { Username = username, Password = password });
        }

        return options;
    }

    private string WriteUsersFile(string text, string name = "users")
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private UserStore CreateStore(KestrelSocksOptions options, bool countDerivations = false, TimeProvider? time = null, bool countRealDerivations = false)
    {
        KeyDerivation derive = countDerivations
            ? (password, salt, destination, iterations) =>
            {
                // Counted, not computed: the default cost would take a fifth of a second per call.
                _derivations.Add(iterations);
                destination.Clear();
            }
            : countRealDerivations
            ? (password, salt, destination, iterations) =>
            {
                _derivations.Add(iterations);
                Pbkdf2.Sha256(password, salt, destination, iterations);
            }
            : Pbkdf2.Sha256;
        var environment = new HostingEnvironment { ContentRootPath = _directory };
        return new UserStore(Options.Create(options), environment, time ?? TimeProvider.System, _logger, derive);
    }
}
