using System.Globalization;
using System.Text;
using KestrelSocks.Authentication;

namespace KestrelSocks.Hosting;

/// <summary>
/// <c>KestrelSocks.Server hash-password [--user NAME] [--iterations N]</c>: reads a password from standard input
/// (without echo from a terminal, asked twice; one line when piped) and prints a users file hash, or a whole
/// <c>NAME:HASH</c> line. The password is never taken from the command line, where other users and shell histories
/// can read it. Exit code 0, or 2 with a message.
/// </summary>
public static class HashPasswordCommand
{
    public const string Name = "hash-password";

    private const string Usage =
        "Usage: KestrelSocks.Server hash-password [--user NAME] [--iterations N]\n" +
        "  Reads the password from standard input and prints a hash for KestrelSocks:Authentication:UsersFile.";

    public static int Run(string[] args)
    {
        string? user = null;
        var iterations = PasswordHash.DefaultIterations;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--help" or "-h":
                    Console.Out.WriteLine(Usage);
                    return 0;
                case "--user" when i + 1 < args.Length:
                    user = args[++i];
                    if (!UsersFile.IsValidName(user, out var problem))
                    {
                        return Fail($"--user: {problem}.");
                    }

                    break;
                case "--iterations" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
                        || iterations is < PasswordHash.MinIterations or > PasswordHash.MaxIterations)
                    {
                        return Fail($"--iterations must be a whole number from {PasswordHash.MinIterations} to {PasswordHash.MaxIterations} (default {PasswordHash.DefaultIterations}).");
                    }

                    break;
                default:
                    // Not quoted: it may be a password typed where it does not belong.
                    return Fail($"unexpected argument {i + 1}; the password is read from standard input, never from the command line.\n{Usage}");
            }
        }

        var password = Console.IsInputRedirected ? Console.In.ReadLine() : ReadFromTerminal();
        if (password is null)
        {
            return Fail("no password: standard input ended before a line was read.");
        }

        if (password.Length == 0)
        {
            return Fail("the password is empty.");
        }

        var bytes = Encoding.UTF8.GetBytes(password);
        if (bytes.Length > 255)
        {
            return Fail("the password is longer than 255 UTF-8 bytes, the RFC 1929 limit.");
        }

        var hash = PasswordHash.Create(bytes, iterations).ToString();
        Console.Out.WriteLine(user is null ? hash : $"{user}:{hash}");
        return 0;
    }

    private static string? ReadFromTerminal()
    {
        var first = ReadHidden("Password: ");
        var second = ReadHidden("Repeat password: ");
        if (!string.Equals(first, second, StringComparison.Ordinal))
        {
            Console.Error.WriteLine("hash-password: the passwords differ.");
            return null;
        }

        return first;
    }

    private static string ReadHidden(string prompt)
    {
        Console.Error.Write(prompt);
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Console.Error.WriteLine();
                return text.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                text.Append(key.KeyChar);
            }
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"hash-password: {message}");
        return 2;
    }
}
