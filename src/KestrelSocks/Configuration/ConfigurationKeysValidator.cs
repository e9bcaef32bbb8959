using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Configuration;

/// <summary>Fails the start on a key under <c>KestrelSocks:</c> that no setting has (see <see cref="ConfigurationKeys"/>).</summary>
internal sealed class ConfigurationKeysValidator : IValidateOptions<KestrelSocksOptions>
{
    private readonly IConfiguration _configuration;

    public ConfigurationKeysValidator(IConfiguration configuration)
    {
        _configuration = configuration;
    }

    public ValidateOptionsResult Validate(string? name, KestrelSocksOptions options)
    {
        var errors = ConfigurationKeys.Check(_configuration.GetSection(KestrelSocksOptions.SectionName), typeof(KestrelSocksOptions));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
