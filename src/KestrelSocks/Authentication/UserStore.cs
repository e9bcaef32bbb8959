using System.Security.Cryptography;
using System.Text;
using KestrelSocks.Configuration;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Authentication;

/// <summary>
/// The RFC 1929 accounts: plaintext ones from configuration, hashed in memory at start, and those of the users file,
/// re-read when it changes. Every check costs one PBKDF2 derivation, a known name or not: an unknown name is checked
/// against a dummy hash of <see cref="AuthenticationOptions.HashIterations"/>, so timing tells an attacker nothing.
/// </summary>
internal sealed class UserStore : IHostedService, IDisposable
{
    /// <summary>Editors and deployment tools write a file in several steps; a reload waits for them to settle.</summary>
    internal static readonly TimeSpan ReloadDelay = TimeSpan.FromMilliseconds(200);

    // Strict: invalid UTF-8 must not decode to U+FFFD and match a configured name that contains one.
    private static readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly KeyDerivation _derive;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Dictionary<string, UserAccount> _configuredAccounts;
    private readonly int _plaintextCount;
    private readonly int _hashIterations;
    private readonly PasswordHash _unknownUserHash;
    private readonly Lock _reloadLock = new();
    private readonly RecentLogins _recent;
    private volatile Dictionary<string, UserAccount> _accounts;
    private byte[]? _fileDigest;
    private FileSystemWatcher? _watcher;
    private ITimer? _reloadTimer;

    public UserStore(IOptions<KestrelSocksOptions> options, IHostEnvironment environment, TimeProvider timeProvider, ILogger<UserStore> logger)
        : this(options, environment, timeProvider, logger, Pbkdf2.Sha256)
    {
    }

    internal UserStore(IOptions<KestrelSocksOptions> options, IHostEnvironment environment, TimeProvider timeProvider, ILogger logger, KeyDerivation derive)
    {
        var authentication = options.Value.Authentication;
        _derive = derive;
        _timeProvider = timeProvider;
        _recent = new RecentLogins(authentication.RecentLoginTtl, timeProvider);
        _logger = logger;
        _hashIterations = authentication.HashIterations;
        _unknownUserHash = PasswordHash.Create(RandomNumberGenerator.GetBytes(32), _hashIterations, derive);

        _configuredAccounts = new Dictionary<string, UserAccount>(StringComparer.Ordinal);
        foreach (var user in authentication.Users)
        {
            var hash = PasswordHash.Create(Encoding.UTF8.GetBytes(user.Password ?? ""), _hashIterations, derive);
            _configuredAccounts[user.Username ?? ""] = new UserAccount(new UserIdentity(user.Username ?? "", user.Groups ?? []), hash);
        }

        _plaintextCount = authentication.Users.Count;
        _accounts = _configuredAccounts;
        UsersFilePath = ResolveUsersFile(authentication, environment);
        if (UsersFilePath is not null && !TryLoadUsersFile(out var problem))
        {
            // The options validator has read the same file moments ago; it can only fail here if it changed since.
            throw new InvalidOperationException($"KestrelSocks:Authentication:UsersFile '{UsersFilePath}' cannot be loaded: {problem}.");
        }
    }

    /// <summary>The users file's full path, or null when there is none.</summary>
    public string? UsersFilePath { get; }

    /// <summary>Accounts in use now, from both sources.</summary>
    public int Count => _accounts.Count;

    /// <summary>The cost of checking a name that has no account.</summary>
    internal int UnknownUserIterations => _unknownUserHash.Iterations;

    /// <summary>
    /// The identity of credentials that passed a full check within <see cref="AuthenticationOptions.RecentLoginTtl"/>
    /// for the account still in force; null otherwise, and the caller makes the full check. Cheap: one HMAC.
    /// </summary>
    public UserIdentity? VerifyRecent(in UsernamePasswordRequest request)
    {
        var account = _recent.Find(request.Username, request.Password);
        if (account is null)
        {
            return null;
        }

        // A reload that replaced or removed the account ends what was remembered of it.
        return _accounts.TryGetValue(account.Identity.Name, out var current) && ReferenceEquals(current, account) ? account.Identity : null;
    }

    /// <summary>
    /// Checks credentials: one PBKDF2 derivation whatever the name. Runs for hundreds of milliseconds at the default
    /// cost, so callers run it on the thread pool.
    /// </summary>
    public UserIdentity? Verify(in UsernamePasswordRequest request)
    {
        UserAccount? account = null;
        try
        {
            _accounts.TryGetValue(_strictUtf8.GetString(request.Username), out account);
        }
        catch (DecoderFallbackException)
        {
            // No account has this name; it still costs a derivation below.
        }

        var matches = (account?.Hash ?? _unknownUserHash).Verify(request.Password, _derive);
        if (!matches || account is null)
        {
            return null;
        }

        _recent.Remember(request.Username, request.Password, account);
        return account.Identity;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_plaintextCount > 0)
        {
            AuthenticationLog.PlaintextPasswords(_logger, _plaintextCount);
        }

        if (UsersFilePath is not null)
        {
            AuthenticationLog.UsersFileLoaded(_logger, UsersFilePath, _accounts.Count - _configuredAccounts.Count);
            ReportCost(_accounts);
            StartWatching(UsersFilePath);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _reloadTimer?.Dispose();
    }

    /// <summary>Resolves <see cref="AuthenticationOptions.UsersFile"/> against the content root.</summary>
    internal static string? ResolveUsersFile(AuthenticationOptions authentication, IHostEnvironment environment) =>
        string.IsNullOrWhiteSpace(authentication.UsersFile) ? null : Path.GetFullPath(authentication.UsersFile, environment.ContentRootPath);

    /// <summary>
    /// Reads and parses a users file; false with every problem listed when it cannot be used. Also refuses names that
    /// <paramref name="configuredNames"/> already has.
    /// </summary>
    internal static bool TryReadUsersFile(string path, IEnumerable<string> configuredNames, List<UserAccount> accounts, List<string> errors, out byte[] digest)
    {
        digest = [];
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"it cannot be read: {e.Message}");
            return false;
        }

        digest = SHA256.HashData(bytes);
        string text;
        try
        {
            text = _strictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            errors.Add("it is not UTF-8 text");
            return false;
        }

        if (!UsersFile.TryParse(text, accounts, errors))
        {
            return false;
        }

        var configured = new HashSet<string>(configuredNames, StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            if (configured.Contains(account.Identity.Name))
            {
                errors.Add($"user '{Diagnostics.LogText.Escape(account.Identity.Name)}' is also in KestrelSocks:Authentication:Users; a name must be defined in one place");
            }
        }

        return errors.Count == 0;
    }

    /// <summary>Re-reads the users file now; false, with a warning logged and the previous accounts kept, when it is not usable.</summary>
    internal bool ReloadUsersFile()
    {
        if (UsersFilePath is null)
        {
            return false;
        }

        lock (_reloadLock)
        {
            var before = _fileDigest;
            if (!TryLoadUsersFile(out var problem))
            {
                AuthenticationLog.UsersFileNotLoaded(_logger, UsersFilePath, problem, _accounts.Count - _configuredAccounts.Count);
                return false;
            }

            if (before is null || !before.AsSpan().SequenceEqual(_fileDigest))
            {
                AuthenticationLog.UsersFileLoaded(_logger, UsersFilePath, _accounts.Count - _configuredAccounts.Count);
                ReportCost(_accounts);
            }

            return true;
        }
    }

    private bool TryLoadUsersFile(out string problem)
    {
        var accounts = new List<UserAccount>();
        var errors = new List<string>();
        if (!TryReadUsersFile(UsersFilePath!, _configuredAccounts.Keys, accounts, errors, out var digest))
        {
            problem = errors.Count == 1 ? errors[0] : $"{errors[0]}; and {errors.Count - 1} more problem(s)";
            return false;
        }

        problem = "";
        if (_fileDigest is not null && _fileDigest.AsSpan().SequenceEqual(digest))
        {
            return true;
        }

        var table = new Dictionary<string, UserAccount>(_configuredAccounts, StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            table.Add(account.Identity.Name, account);
        }

        // One reference swap: a check in flight uses the old table or the new one, never half of each.
        _accounts = table;
        _fileDigest = digest;
        return true;
    }

    private void ReportCost(Dictionary<string, UserAccount> accounts)
    {
        var differing = 0;
        foreach (var account in accounts.Values)
        {
            if (account.Hash.Iterations != _hashIterations)
            {
                differing++;
            }
        }

        if (differing > 0)
        {
            AuthenticationLog.HashCostDiffers(_logger, UsersFilePath!, differing, _hashIterations);
        }
    }

    private void StartWatching(string path)
    {
        _reloadTimer = _timeProvider.CreateTimer(static state => ((UserStore)state!).ReloadUsersFile(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        // The whole directory is watched, not only the file: Kubernetes updates a mounted secret by swapping a
        // symbolic link next to it, which changes no event for the file's own name. Unchanged content is skipped.
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += OnDirectoryChanged;
        _watcher.Created += OnDirectoryChanged;
        _watcher.Deleted += OnDirectoryChanged;
        _watcher.Renamed += OnDirectoryChanged;
        _watcher.EnableRaisingEvents = true;
    }

    private void OnDirectoryChanged(object sender, FileSystemEventArgs e) => _reloadTimer?.Change(ReloadDelay, Timeout.InfiniteTimeSpan);
}
