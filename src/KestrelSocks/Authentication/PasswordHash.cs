using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace KestrelSocks.Authentication;

/// <summary>
/// A PBKDF2-HMAC-SHA256 password hash in a PHC-style string:
/// <c>$pbkdf2-sha256$i=600000$&lt;salt&gt;$&lt;hash&gt;</c>, salt and hash in standard base64 without padding, the salt
/// 16 to 64 bytes, the hash 32 bytes. Every user has a salt and a cost of their own.
/// </summary>
internal sealed class PasswordHash
{
    /// <summary>
    /// OWASP's 2023 figure for PBKDF2-HMAC-SHA256. Measured on the 2-core build machine at 200–270 ms per
    /// verification, so a guesser pays that per try on top of the throttle; see README, "Users file".
    /// </summary>
    public const int DefaultIterations = 600_000;

    public const int MinIterations = 1_000;

    /// <summary>Bounds one verification to seconds, so a typo in a users file cannot make a login take an hour.</summary>
    public const int MaxIterations = 10_000_000;

    public const int SaltSize = 16;
    public const int MinSaltSize = 16;
    public const int MaxSaltSize = 64;
    public const int HashSize = 32;

    private const string Prefix = "$pbkdf2-sha256$i=";

    private readonly byte[] _salt;
    private readonly byte[] _hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash)
    {
        Iterations = iterations;
        _salt = salt;
        _hash = hash;
    }

    public int Iterations { get; }

    /// <summary>Hashes <paramref name="password"/> with a fresh random salt.</summary>
    public static PasswordHash Create(ReadOnlySpan<byte> password, int iterations, KeyDerivation? derive = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinIterations);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaxIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltSize);
        var hash = new byte[HashSize];
        (derive ?? Pbkdf2.Sha256)(password, salt, hash, iterations);
        return new PasswordHash(iterations, salt, hash);
    }

    /// <summary>
    /// Parses a hash string. On failure <paramref name="error"/> says which field is wrong, without the value: a
    /// users file line is a secret, and its fields must not reach a log.
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out PasswordHash? hash, [NotNullWhen(false)] out string? error)
    {
        hash = null;
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = "the hash does not start with $pbkdf2-sha256$i=";
            return false;
        }

        var rest = text.AsSpan(Prefix.Length);
        Span<Range> fields = stackalloc Range[4];
        if (rest.Split(fields, '$') != 3)
        {
            error = "the hash needs exactly three fields after $pbkdf2-sha256$: i=<iterations>$<salt>$<hash>";
            return false;
        }

        var iterationsText = rest[fields[0]];
        if (iterationsText.IsEmpty || iterationsText[0] is < '1' or > '9' || iterationsText.ContainsAnyExceptInRange('0', '9')
            || !int.TryParse(iterationsText, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations)
            || iterations is < MinIterations or > MaxIterations)
        {
            error = $"the iteration count must be a whole number from {MinIterations} to {MaxIterations}";
            return false;
        }

        if (!TryDecode(rest[fields[1]], MaxSaltSize, out var salt) || salt.Length < MinSaltSize)
        {
            error = $"the salt must be {MinSaltSize} to {MaxSaltSize} bytes in base64 without padding";
            return false;
        }

        if (!TryDecode(rest[fields[2]], HashSize, out var derived) || derived.Length != HashSize)
        {
            error = $"the hash must be {HashSize} bytes in base64 without padding";
            return false;
        }

        hash = new PasswordHash(iterations, salt, derived);
        error = null;
        return true;
    }

    /// <summary>Derives the key for <paramref name="password"/> and compares it in constant time.</summary>
    public bool Verify(ReadOnlySpan<byte> password, KeyDerivation? derive = null)
    {
        Span<byte> derived = stackalloc byte[HashSize];
        (derive ?? Pbkdf2.Sha256)(password, _salt, derived, Iterations);
        var matches = CryptographicOperations.FixedTimeEquals(derived, _hash);
        CryptographicOperations.ZeroMemory(derived);
        return matches;
    }

    public override string ToString() =>
        $"{Prefix}{Iterations.ToString(CultureInfo.InvariantCulture)}${Encode(_salt)}${Encode(_hash)}";

    private static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    private static bool TryDecode(ReadOnlySpan<char> text, int maxBytes, [NotNullWhen(true)] out byte[]? bytes)
    {
        bytes = null;

        // Unpadded base64 of n bytes is ceil(4n/3) characters; a remainder of one character is never valid.
        if (text.IsEmpty || text.Length > (maxBytes * 4 + 2) / 3 || text.Length % 4 == 1 || text.IndexOf('=') >= 0)
        {
            return false;
        }

        Span<char> padded = stackalloc char[(text.Length + 3) / 4 * 4];
        text.CopyTo(padded);
        padded[text.Length..].Fill('=');
        Span<byte> decoded = stackalloc byte[maxBytes + 2];
        if (!Convert.TryFromBase64Chars(padded, decoded, out var written))
        {
            return false;
        }

        // Canonical only: the unused low bits of the last character must be zero, so one hash has one spelling.
        if (!Encode(decoded[..written].ToArray()).AsSpan().SequenceEqual(text))
        {
            return false;
        }

        bytes = decoded[..written].ToArray();
        return true;
    }
}
