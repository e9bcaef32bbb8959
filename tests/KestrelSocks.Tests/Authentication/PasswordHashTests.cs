using System.Security.Cryptography;
using System.Text;
using KestrelSocks.Authentication;

namespace KestrelSocks.Tests.Authentication;

public sealed class PasswordHashTests
{
    private const int Iterations = PasswordHash.MinIterations;

    // 16 bytes 00..0f and 32 bytes 00..1f, in unpadded base64.
    private const string Salt = "AAECAwQFBgcICQoLDA0ODw";
    private const string Hash = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    [Fact]
    public void Create_ThenParse_RoundTripsAndVerifies()
    {
        var created = PasswordHash.Create("correct horse"u8, Iterations);
        var text = created.ToString();

        Assert.StartsWith("$pbkdf2-sha256$i=1000$", text, StringComparison.Ordinal);
        Assert.True(PasswordHash.TryParse(text, out var parsed, out var error), error);
        Assert.Equal(Iterations, parsed.Iterations);
        Assert.Equal(text, parsed.ToString());
        Assert.True(parsed.Verify("correct horse"u8));
        Assert.False(parsed.Verify("correct horsE"u8));
        Assert.False(parsed.Verify(""u8));
    }

    [Fact]
    public void TheFormat_IsPbkdf2HmacSha256OfTheSaltAndIterationsItNames()
    {
        // Built here from first principles: any PBKDF2-SHA256 implementation can produce a line the proxy accepts.
        var salt = RandomNumberGenerator.GetBytes(24);
        var derived = Rfc2898DeriveBytes.Pbkdf2("pässwörd"u8, salt, 4321, HashAlgorithmName.SHA256, 32);
        var text = $"$pbkdf2-sha256$i=4321${Convert.ToBase64String(salt).TrimEnd('=')}${Convert.ToBase64String(derived).TrimEnd('=')}";

        Assert.True(PasswordHash.TryParse(text, out var hash, out var error), error);
        Assert.True(hash.Verify(Encoding.UTF8.GetBytes("pässwörd")));
        Assert.False(hash.Verify("passwörd"u8));
    }

    [Fact]
    public void Create_SamePasswordTwice_GivesDifferentSaltsAndHashes()
    {
        var first = PasswordHash.Create("same"u8, Iterations).ToString().Split('$');
        var second = PasswordHash.Create("same"u8, Iterations).ToString().Split('$');

        Assert.NotEqual(first[3], second[3]);
        Assert.NotEqual(first[4], second[4]);
        Assert.Equal(PasswordHash.SaltSize, Convert.FromBase64String(first[3] + "==").Length);
    }

    [Fact]
    public void Verify_DerivesOnceWithTheHashsOwnIterations()
    {
        var hash = PasswordHash.Create("pw"u8, 2345);
        var calls = new List<int>();

        hash.Verify("other"u8, (password, salt, destination, iterations) => calls.Add(iterations));

        Assert.Equal([2345], calls);
    }

    [Fact]
    public void Parse_TheReferenceString_Succeeds()
    {
        Assert.True(PasswordHash.TryParse($"$pbkdf2-sha256$i=1000${Salt}${Hash}", out var hash, out var error), error);
        Assert.Equal(1000, hash.Iterations);
    }

    [Theory]
    [InlineData("", "start")]
    [InlineData("plaintext", "start")]
    [InlineData($"$pbkdf2-sha1$i=1000${Salt}${Hash}", "start")]
    [InlineData($"$PBKDF2-SHA256$i=1000${Salt}${Hash}", "start")]
    [InlineData($"pbkdf2-sha256$i=1000${Salt}${Hash}", "start")]
    [InlineData($"$pbkdf2-sha256$1000${Salt}${Hash}", "start")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}", "three fields")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}${Hash}$", "three fields")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}${Hash}$extra", "three fields")]
    [InlineData($"$pbkdf2-sha256$i=${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=999${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=0${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=01000${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=+1000${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=-1000${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=1e4${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i= 1000${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=10000001${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=99999999999${Salt}${Hash}", "iteration")]
    [InlineData($"$pbkdf2-sha256$i=1000$${Hash}", "salt")]
    [InlineData($"$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0O${Hash}", "salt")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}==${Hash}", "salt")]
    [InlineData($"$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0OD!${Hash}", "salt")]
    [InlineData($"$pbkdf2-sha256$i=1000$AAECAwQF BgcICQoLDA0ODw${Hash}", "salt")]
    [InlineData($"$pbkdf2-sha256$i=1000$AAECAwQFBgcICQoLDA0ODx${Hash}", "salt")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}$", "hash")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg", "hash")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", "hash")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}${Hash}=", "hash")]
    [InlineData($"$pbkdf2-sha256$i=1000${Salt}$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-", "hash")]
    public void Parse_MalformedString_FailsNamingTheField(string text, string field)
    {
        Assert.False(PasswordHash.TryParse(text, out var hash, out var error));

        Assert.Null(hash);
        Assert.Contains(field, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Error_NeverQuotesTheInput()
    {
        const string Secretish = "SECRETSALTVALUEXYZ";
        Assert.False(PasswordHash.TryParse($"$pbkdf2-sha256$i=1000${Secretish}!${Hash}", out _, out var error));

        Assert.DoesNotContain(Secretish, error, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultIterations_IsOwaspsPbkdf2Sha256Figure()
    {
        Assert.Equal(600_000, PasswordHash.DefaultIterations);
        Assert.Equal(PasswordHash.DefaultIterations, new KestrelSocks.Configuration.AuthenticationOptions().HashIterations);
    }
}
