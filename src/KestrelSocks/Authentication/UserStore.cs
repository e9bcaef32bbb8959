using System.Security.Cryptography;
using System.Text;
using KestrelSocks.Configuration;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Authentication;

/// <summary>
/// The RFC 1929 accounts from configuration. Passwords are kept only as SHA-256 digests and compared in constant
/// time, and an unknown user costs the same work as a wrong password, so timing tells an attacker nothing.
/// </summary>
internal sealed class UserStore
{
    private static readonly byte[] _unknownUserDigest = SHA256.HashData("\0no such user\0"u8);

    // Strict: invalid UTF-8 must not decode to U+FFFD and match a configured name that contains one.
    private static readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Dictionary<string, byte[]> _passwordDigests = new(StringComparer.Ordinal);

    public UserStore(IOptions<KestrelSocksOptions> options)
    {
        foreach (var user in options.Value.Authentication.Users)
        {
            _passwordDigests[user.Username ?? ""] = SHA256.HashData(Encoding.UTF8.GetBytes(user.Password ?? ""));
        }
    }

    /// <summary>Checks a sub-negotiation request; on success <paramref name="username"/> is the account name.</summary>
    public bool TryAuthenticate(in UsernamePasswordRequest request, out string username)
    {
        try
        {
            username = _strictUtf8.GetString(request.Username);
        }
        catch (DecoderFallbackException)
        {
            username = "";
            return false;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(request.Password, digest);

        var known = _passwordDigests.TryGetValue(username, out var expected);
        var matches = CryptographicOperations.FixedTimeEquals(digest, expected ?? _unknownUserDigest);
        return known & matches;
    }
}
