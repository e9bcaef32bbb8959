using System.Globalization;
using System.Text;

namespace KestrelSocks.Authentication;

/// <summary>
/// The users file: one account per line, <c>name:hash</c> or <c>name:hash:group1,group2</c>, where the hash is a
/// <see cref="PasswordHash"/> string. Blank lines and lines starting with <c>#</c> are ignored, as is whitespace
/// around a line. Problems are reported by line number and never quote the line: it holds a hash.
/// </summary>
internal static class UsersFile
{
    /// <summary>Parses every line; true when there is no problem. <paramref name="errors"/> gets one entry per bad line.</summary>
    public static bool TryParse(string text, List<UserAccount> accounts, List<string> errors)
    {
        var lineNumbers = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }

            if (TryParseLine(line.ToString(), out var account, out var problem))
            {
                if (lineNumbers.TryAdd(account.Identity.Name, lineNumber))
                {
                    accounts.Add(account);
                }
                else
                {
                    errors.Add(string.Create(CultureInfo.InvariantCulture,
                        $"line {lineNumber}: the user on this line is already defined on line {lineNumbers[account.Identity.Name]}; each name must be unique"));
                }
            }
            else
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture, $"line {lineNumber}: {problem}"));
            }
        }

        return errors.Count == 0;
    }

    /// <summary>Whether a name can be a users file account (and a <c>hash-password --user</c> argument).</summary>
    public static bool IsValidName(string name, out string? problem)
    {
        if (name.Length == 0)
        {
            problem = "the user name is empty";
            return false;
        }

        if (name.Contains(':', StringComparison.Ordinal))
        {
            problem = "the user name contains ':'";
            return false;
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                problem = "the user name contains a control character";
                return false;
            }
        }

        if (Encoding.UTF8.GetByteCount(name) > 255)
        {
            problem = "the user name is longer than 255 UTF-8 bytes, the RFC 1929 limit";
            return false;
        }

        problem = null;
        return true;
    }

    private static bool TryParseLine(string line, out UserAccount account, out string? problem)
    {
        account = null!;
        var fields = line.Split(':');
        if (fields.Length is < 2 or > 3)
        {
            problem = "expected name:hash or name:hash:group1,group2";
            return false;
        }

        var name = fields[0];
        if (!IsValidName(name, out problem))
        {
            return false;
        }

        if (!PasswordHash.TryParse(fields[1], out var hash, out var hashError))
        {
            problem = hashError;
            return false;
        }

        var groups = Array.Empty<string>();
        if (fields.Length == 3 && fields[2].Length > 0)
        {
            groups = fields[2].Split(',', StringSplitOptions.TrimEntries);
            foreach (var group in groups)
            {
                if (group.Length == 0 || group.Any(char.IsControl))
                {
                    problem = "a group name is empty or contains a control character";
                    return false;
                }
            }
        }

        account = new UserAccount(new UserIdentity(name, groups), hash);
        return true;
    }
}
