using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace KestrelSocks.Authentication;

/// <summary>
/// Credentials that passed a full check recently, so a client that opens many connections (a browser opens dozens)
/// pays the PBKDF2 cost once per <see cref="Ttl"/>, not once per connection. Entries are keyed by an HMAC of name and
/// password under a key made at start and never stored, so memory holds no password and no hash an attacker could
/// use offline. Only a success is remembered: a wrong password or an unknown name never hits, and always costs a full
/// check, so failures still take the same time whatever the name. An entry counts only while its account is the one
/// in force: a users file reload that changes the account ends it.
/// </summary>
internal sealed class RecentLogins
{
    /// <summary>Bound on remembered logins; past it the table starts over, which costs each client one full check.</summary>
    internal const int MaxEntries = 16_384;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<UInt128, Entry> _entries = new();
    private readonly TimeProvider _timeProvider;
    private readonly long _ttlTicks;

    public RecentLogins(TimeSpan ttl, TimeProvider timeProvider)
    {
        Ttl = ttl;
        _timeProvider = timeProvider;
        _ttlTicks = (long)(ttl.TotalSeconds * timeProvider.TimestampFrequency);
    }

    /// <summary>How long a success is remembered; zero remembers none.</summary>
    public TimeSpan Ttl { get; }

    public int Count => _entries.Count;

    /// <summary>The account these credentials passed a full check for, if that was within the time to live.</summary>
    public UserAccount? Find(ReadOnlySpan<byte> username, ReadOnlySpan<byte> password)
    {
        if (_ttlTicks <= 0 || _entries.IsEmpty)
        {
            return null;
        }

        var key = Key(username, password);
        if (!_entries.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (_timeProvider.GetTimestamp() - entry.VerifiedAt > _ttlTicks)
        {
            _entries.TryRemove(new KeyValuePair<UInt128, Entry>(key, entry));
            return null;
        }

        return entry.Account;
    }

    public void Remember(ReadOnlySpan<byte> username, ReadOnlySpan<byte> password, UserAccount account)
    {
        if (_ttlTicks <= 0)
        {
            return;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[Key(username, password)] = new Entry(account, _timeProvider.GetTimestamp());
    }

    private UInt128 Key(ReadOnlySpan<byte> username, ReadOnlySpan<byte> password)
    {
        // The name's length first, so "ab" + "c" and "a" + "bc" are different inputs.
        Span<byte> input = stackalloc byte[1 + 255 + 255];
        input[0] = (byte)username.Length;
        username.CopyTo(input[1..]);
        password.CopyTo(input[(1 + username.Length)..]);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, input[..(1 + username.Length + password.Length)], mac);
        var key = MemoryMarshal.Read<UInt128>(mac);
        CryptographicOperations.ZeroMemory(input);
        return key;
    }

    private sealed record Entry(UserAccount Account, long VerifiedAt);
}
