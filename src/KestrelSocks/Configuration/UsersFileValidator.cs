using KestrelSocks.Authentication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Configuration;

/// <summary>
/// Reads the users file at start, so that a bad line stops the process with the setting and the line number, like any
/// other bad setting. Separate from <see cref="KestrelSocksOptionsValidator"/> because it needs the content root and
/// the file system. Problems never quote a line: it holds a hash.
/// </summary>
internal sealed class UsersFileValidator : IValidateOptions<KestrelSocksOptions>
{
    private const string Key = $"{KestrelSocksOptions.SectionName}:Authentication:UsersFile";

    private readonly IHostEnvironment _environment;

    public UsersFileValidator(IHostEnvironment environment)
    {
        _environment = environment;
    }

    public ValidateOptionsResult Validate(string? name, KestrelSocksOptions options)
    {
        var authentication = options.Authentication;
        if (UserStore.ResolveUsersFile(authentication, _environment) is not { } path)
        {
            return ValidateOptionsResult.Success;
        }

        var errors = new List<string>();
        UserStore.TryReadUsersFile(path, authentication.Users.Select(u => u.Username ?? ""), [], errors, out _);
        return errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(e => $"{Key} '{path}': {e}."));
    }
}
