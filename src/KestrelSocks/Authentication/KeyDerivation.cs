using System.Security.Cryptography;

namespace KestrelSocks.Authentication;

/// <summary>
/// Derives a password's key: PBKDF2-HMAC-SHA256 in production. A delegate so that tests can count the work done
/// (an unknown user must cost one full derivation, exactly as a known one does) without measuring time.
/// </summary>
internal delegate void KeyDerivation(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, Span<byte> destination, int iterations);

/// <summary>The production <see cref="KeyDerivation"/>.</summary>
internal static class Pbkdf2
{
    public static readonly KeyDerivation Sha256 = static (password, salt, destination, iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(password, salt, destination, iterations, HashAlgorithmName.SHA256);
}
