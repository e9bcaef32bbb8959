using KestrelSocks.Authentication;

namespace KestrelSocks.Tests.Authentication;

public sealed class UsersFileTests
{
    private static readonly string _hash = PasswordHash.Create("pw"u8, PasswordHash.MinIterations).ToString();

    [Fact]
    public void CommentsBlankLinesAndGroups_AreRead()
    {
        var text = $"""
            # KestrelSocks users

            alice:{_hash}
              bob:{_hash}:admins, ops  
            	# an indented comment
            carol:{_hash}:
            jürgen:{_hash}:ops
            """;

        var (accounts, errors) = Parse(text);

        Assert.Empty(errors);
        Assert.Equal(["alice", "bob", "carol", "jürgen"], accounts.Select(a => a.Identity.Name));
        Assert.Empty(accounts[0].Identity.Groups);
        Assert.Equal(["admins", "ops"], accounts[1].Identity.Groups);
        Assert.Empty(accounts[2].Identity.Groups);
        Assert.True(accounts[3].Hash.Verify("pw"u8));
    }

    [Fact]
    public void WindowsLineEnds_AreRead()
    {
        var (accounts, errors) = Parse($"alice:{_hash}\r\nbob:{_hash}:g\r\n");

        Assert.Empty(errors);
        Assert.Equal(["alice", "bob"], accounts.Select(a => a.Identity.Name));
        Assert.Equal(["g"], accounts[1].Identity.Groups);
    }

    [Theory]
    [InlineData("alice", "expected name:hash")]
    [InlineData("alice:{hash}:g:extra", "expected name:hash")]
    [InlineData(":{hash}", "empty")]
    [InlineData("al\u0001ice:{hash}", "control character")]
    [InlineData("al\u007fice:{hash}", "control character")]
    [InlineData("alice:not-a-hash", "does not start with")]
    [InlineData("alice:$pbkdf2-sha256$i=10$AAECAwQFBgcICQoLDA0ODw$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "iteration")]
    [InlineData("alice:{hash}:ops,,admins", "group")]
    [InlineData("alice:{hash}:op\u0007s", "group")]
    public void BadLine_IsReportedWithItsLineNumber(string line, string problem)
    {
        var text = $"# header\nbob:{_hash}\n\n{line.Replace("{hash}", _hash, StringComparison.Ordinal)}\ncarol:{_hash}\n";

        var (accounts, errors) = Parse(text);

        var error = Assert.Single(errors);
        Assert.StartsWith("line 4: ", error, StringComparison.Ordinal);
        Assert.Contains(problem, error, StringComparison.Ordinal);
        Assert.DoesNotContain(_hash.Split('$')[3], error, StringComparison.Ordinal);
    }

    [Fact]
    public void LongName_IsRefused()
    {
        var (_, errors) = Parse($"{new string('n', 256)}:{_hash}");

        Assert.Contains("255", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateName_IsReportedWithBothLines()
    {
        var (accounts, errors) = Parse($"alice:{_hash}\nbob:{_hash}\nalice:{_hash}:ops\n");

        Assert.Equal("line 3: the user on this line is already defined on line 1; each name must be unique", Assert.Single(errors));
        Assert.Equal(["alice", "bob"], accounts.Select(a => a.Identity.Name));
    }

    [Fact]
    public void EveryBadLine_IsReported()
    {
        var (_, errors) = Parse($"a\nb:{_hash}\nc:x\n\n:{_hash}\n");

        Assert.Equal(3, errors.Count);
        Assert.StartsWith("line 1: ", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("line 3: ", errors[1], StringComparison.Ordinal);
        Assert.StartsWith("line 5: ", errors[2], StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFile_HasNoAccountsAndNoProblem()
    {
        var (accounts, errors) = Parse("# nobody yet\n");

        Assert.Empty(accounts);
        Assert.Empty(errors);
    }

    private static (List<UserAccount> Accounts, List<string> Errors) Parse(string text)
    {
        var accounts = new List<UserAccount>();
        var errors = new List<string>();
        var ok = UsersFile.TryParse(text, accounts, errors);
        Assert.Equal(errors.Count == 0, ok);
        return (accounts, errors);
    }
}
