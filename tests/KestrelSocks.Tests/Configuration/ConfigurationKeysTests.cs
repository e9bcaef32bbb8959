using KestrelSocks.Configuration;
using Microsoft.Extensions.Configuration;

namespace KestrelSocks.Tests.Configuration;

public sealed class ConfigurationKeysTests
{
    public static TheoryData<string, string, string?> Typos => new()
    {
        // One per section and nesting level: top level, every options class, list items of classes. The error names the
        // first unknown part of the key, with the valid key nearest to it.
        { "KestrelSocks:Limitz:Foo", "KestrelSocks:Limitz", "KestrelSocks:Limits" },
        { "KestrelSocks:Listn:0", "KestrelSocks:Listn", "KestrelSocks:Listen" },
        { "KestrelSocks:Limits:IdelTimeout", "KestrelSocks:Limits:IdelTimeout", "KestrelSocks:Limits:IdleTimeout" },
        { "KestrelSocks:Limits:PerUser:MaxSesions", "KestrelSocks:Limits:PerUser:MaxSesions", "KestrelSocks:Limits:PerUser:MaxSessions" },
        { "KestrelSocks:Admin:Enable", "KestrelSocks:Admin:Enable", "KestrelSocks:Admin:Enabled" },
        { "KestrelSocks:Authentication:UserFile", "KestrelSocks:Authentication:UserFile", "KestrelSocks:Authentication:UsersFile" },
        { "KestrelSocks:Authentication:Users:0:Usrname", "KestrelSocks:Authentication:Users:0:Usrname", "KestrelSocks:Authentication:Users:0:Username" },
        { "KestrelSocks:Access:EgresGuard", "KestrelSocks:Access:EgresGuard", "KestrelSocks:Access:EgressGuard" },
        { "KestrelSocks:Access:Rules:0:Destination:0", "KestrelSocks:Access:Rules:0:Destination", "KestrelSocks:Access:Rules:0:Destinations" },
        { "KestrelSocks:Connect:Foo", "KestrelSocks:Connect:Foo", null },
        { "KestrelSocks:Bind:Enabeld", "KestrelSocks:Bind:Enabeld", "KestrelSocks:Bind:Enabled" },
        { "KestrelSocks:Udp:Enabeld", "KestrelSocks:Udp:Enabeld", "KestrelSocks:Udp:Enabled" },
        { "KestrelSocks:Relay:Mdoe", "KestrelSocks:Relay:Mdoe", "KestrelSocks:Relay:Mode" },
    };

    [Theory]
    [MemberData(nameof(Typos))]
    public void UnknownKey_IsNamedWithTheClosestValidKey(string key, string unknown, string? suggestion)
    {
        var error = Assert.Single(Check(new() { [key] = "1" }));

        Assert.Equal(suggestion is null ? $"{unknown} is not a setting." : $"{unknown} is not a setting; did you mean {suggestion}?", error);
    }

    [Theory]
    [InlineData("KestrelSocks:Listen")]
    [InlineData("KestrelSocks:Admin:Listen")]
    [InlineData("KestrelSocks:Access:DeniedDestinations")]
    [InlineData("KestrelSocks:Access:AllowedDestinations")]
    [InlineData("KestrelSocks:Access:Rules:0:Destinations")]
    [InlineData("KestrelSocks:Authentication:Users:0:Groups")]
    public void ListWithoutIndex_IsAnError(string key)
    {
        var error = Assert.Single(Check(new() { [key] = "127.0.0.0/8" }));

        Assert.Equal($"{key} is a list: a value without an index is ignored; set {key}:0=VALUE, {key}:1=... instead.", error);
    }

    [Fact]
    public void ListWithoutIndex_BesideIndexedItems_IsAnError()
    {
        // As from an environment variable KestrelSocks__Listen beside a command line --KestrelSocks:Listen:0.
        var error = Assert.Single(Check(new() { ["KestrelSocks:Listen"] = "0.0.0.0:1080", ["KestrelSocks:Listen:0"] = "127.0.0.1:0" }));

        Assert.StartsWith("KestrelSocks:Listen is a list", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ListWithNamedItem_IsAnError()
    {
        var error = Assert.Single(Check(new() { ["KestrelSocks:Listen:first"] = "127.0.0.1:1080" }));

        Assert.StartsWith("KestrelSocks:Listen:first is not a list index", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SectionGivenAValue_AndValueGivenChildren_AreErrors()
    {
        var errors = Check(new() { ["KestrelSocks:Limits"] = "10", ["KestrelSocks:Admin:Enabled:x"] = "true" });

        Assert.Contains("KestrelSocks:Limits is a section: its value is ignored; set KestrelSocks:Limits:NAME=VALUE.", errors);
        Assert.Contains("KestrelSocks:Admin:Enabled is a single value, not a section: set KestrelSocks:Admin:Enabled=VALUE.", errors);
    }

    [Fact]
    public void ComputedProperties_AreNotSettings()
    {
        // Limits:PerUser:Enabled and Listen's EffectiveListen exist as properties but the binder never writes them.
        var errors = Check(new() { ["KestrelSocks:Limits:PerUser:Enabled"] = "true", ["KestrelSocks:EffectiveListen:0"] = "x" });

        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public void ValidKeys_InAnyCase_AndEmptyLists_AreAccepted()
    {
        var errors = Check(new()
        {
            ["KestrelSocks:Listen:0"] = "127.0.0.1:1080",
            ["kestrelsocks:limits:idletimeout"] = "00:01:00",
            ["KestrelSocks:Limits:PerUser:Bandwidth"] = "1000000",
            ["KestrelSocks:Authentication:AllowAnonymous"] = "true",
            ["KestrelSocks:Authentication:Users"] = null,
            ["KestrelSocks:Authentication:Users:0:Username"] = "alice",
            ["KestrelSocks:Authentication:Users:0:Groups:0"] = "staff",
            ["KestrelSocks:Access:Rules:0:Name"] = "r",
            ["KestrelSocks:Access:Rules:0:Ports:0"] = "443",
            ["KestrelSocks:Access:DeniedDestinations"] = "",
            ["KestrelSocks:Relay:Mode"] = "Pipe",
        });

        Assert.Empty(errors);
    }

    [Fact]
    public void EverySettingOfEveryOptionsClass_IsAccepted()
    {
        // Walks the options classes independently of the checker: a setting it wrongly refused would stop real starts.
        var settings = new Dictionary<string, string?>();
        AddEverySetting(settings, KestrelSocksOptions.SectionName, typeof(KestrelSocksOptions));

        Assert.True(settings.Count > 60, $"only {settings.Count} settings found");
        Assert.Empty(Check(settings));
    }

    private static void AddEverySetting(Dictionary<string, string?> settings, string path, Type type)
    {
        foreach (var property in type.GetProperties().Where(static p => p.SetMethod is { IsPublic: true }))
        {
            var key = $"{path}:{property.Name}";
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var element = propertyType.IsArray ? propertyType.GetElementType() : propertyType.IsGenericType ? propertyType.GetGenericArguments()[0] : null;
            if (element is not null)
            {
                key += ":0";
                propertyType = element;
            }

            if (propertyType.Namespace == typeof(KestrelSocksOptions).Namespace && propertyType.IsClass)
            {
                AddEverySetting(settings, key, propertyType);
            }
            else
            {
                settings[key] = "1";
            }
        }
    }

    [Fact]
    public void DictionaryKeys_AreFree_AndTheirValuesAreChecked()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sample:Named:anything:Limit"] = "1",
            ["Sample:Named:other:Limt"] = "1",
        }).Build();

        var error = Assert.Single(ConfigurationKeys.Check(configuration.GetSection("Sample"), typeof(SampleOptions)));

        Assert.Equal("Sample:Named:other:Limt is not a setting; did you mean Sample:Named:other:Limit?", error);
    }

    [Fact]
    public void EveryProblem_IsReported()
    {
        var errors = Check(new() { ["KestrelSocks:Limitz:Foo"] = "1", ["KestrelSocks:Limits:IdelTimeout"] = "1", ["KestrelSocks:Listen"] = "x" });

        Assert.Equal(3, errors.Count);
    }

    [Theory]
    [InlineData("IdelTimeout", "IdleTimeout", 1)]
    [InlineData("Limitz", "Limits", 1)]
    [InlineData("abc", "abc", 0)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    public void EditDistance_CountsASwapOnce(string a, string b, int expected) => Assert.Equal(expected, ConfigurationKeys.EditDistance(a, b));

    [Fact]
    public void Closest_GivesNothingForANameFarFromAll() => Assert.Null(ConfigurationKeys.Closest("Zzzzzz", ["Listen", "Limits", "Admin"]));

    private static List<string> Check(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return ConfigurationKeys.Check(configuration.GetSection(KestrelSocksOptions.SectionName), typeof(KestrelSocksOptions));
    }

    internal sealed class SampleOptions
    {
        public Dictionary<string, SampleItem> Named { get; set; } = [];
    }

    internal sealed class SampleItem
    {
        public int Limit { get; set; }
    }
}
