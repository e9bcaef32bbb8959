using KestrelSocks.Configuration;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Tests.Configuration;

/// <summary><c>Limits:PerUser</c>: its defaults, the burst's default, and its validation.</summary>
public sealed class UserLimitsOptionsTests
{
    private const string Key = "KestrelSocks:Limits:PerUser";

    public static TheoryData<string, string> BadSettings => new()
    {
        { "max-sessions-negative", $"{Key}:MaxSessions" },
        { "max-udp-associations-negative", $"{Key}:MaxUdpAssociations" },
        { "bandwidth-negative", $"{Key}:Bandwidth" },
        { "bandwidth-below-minimum", $"{Key}:Bandwidth" },
        { "bandwidth-above-maximum", $"{Key}:Bandwidth" },
        { "burst-below-a-datagram", $"{Key}:BandwidthBurst" },
        { "burst-negative", $"{Key}:BandwidthBurst" },
        { "burst-without-bandwidth", $"{Key}:BandwidthBurst" },
    };

    public static TheoryData<string> GoodSettings =>
    [
        "one-session",
        "many-associations",
        "lowest-bandwidth",
        "highest-bandwidth",
        "smallest-burst",
    ];

    [Fact]
    public void Defaults_LimitNothing()
    {
        var options = new UserLimitsOptions();

        Assert.Equal(0, options.MaxSessions);
        Assert.Equal(0, options.MaxUdpAssociations);
        Assert.Equal(0, options.Bandwidth);
        Assert.False(options.Enabled);
    }

    [Theory]
    [InlineData(2_000_000, 0, 200_000)] // a tenth of a second of the rate
    [InlineData(100_000, 0, 65_536)] // never less than the largest datagram
    [InlineData(2_000_000, 1_000_000, 1_000_000)] // as set
    public void EffectiveBurst_DefaultsToATenthOfASecond(long bandwidth, long burst, long expected)
    {
        var options = new UserLimitsOptions { Bandwidth = bandwidth, BandwidthBurst = burst };

        Assert.Equal(expected, options.EffectiveBurst);
    }

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void BadSetting_IsReportedOnceWithItsFullKey(string setting, string key)
    {
        var options = new KestrelSocksOptions();
        Apply(setting, options.Limits.PerUser);

        var result = new KestrelSocksOptionsValidator().Validate(Options.DefaultName, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith(key + " ", failure, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(GoodSettings))]
    public void GoodSetting_Validates(string setting)
    {
        var options = new KestrelSocksOptions();
        Apply(setting, options.Limits.PerUser);

        var result = new KestrelSocksOptionsValidator().Validate(Options.DefaultName, options);

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    private static void Apply(string setting, UserLimitsOptions options)
    {
        switch (setting)
        {
            case "max-sessions-negative":
                options.MaxSessions = -1;
                break;
            case "max-udp-associations-negative":
                options.MaxUdpAssociations = -1;
                break;
            case "bandwidth-negative":
                options.Bandwidth = -1;
                break;
            case "bandwidth-below-minimum":
                options.Bandwidth = UserLimitsOptions.MinimumBandwidth - 1;
                break;
            case "bandwidth-above-maximum":
                options.Bandwidth = UserLimitsOptions.MaximumBandwidth + 1;
                break;
            case "burst-below-a-datagram":
                options.Bandwidth = 1_000_000;
                options.BandwidthBurst = UserLimitsOptions.MinimumBurst - 1;
                break;
            case "burst-negative":
                options.Bandwidth = 1_000_000;
                options.BandwidthBurst = -1;
                break;
            case "burst-without-bandwidth":
                options.BandwidthBurst = 100_000;
                break;
            case "one-session":
                options.MaxSessions = 1;
                break;
            case "many-associations":
                options.MaxUdpAssociations = int.MaxValue;
                break;
            case "lowest-bandwidth":
                options.Bandwidth = UserLimitsOptions.MinimumBandwidth;
                break;
            case "highest-bandwidth":
                options.Bandwidth = UserLimitsOptions.MaximumBandwidth;
                break;
            case "smallest-burst":
                options.Bandwidth = UserLimitsOptions.MinimumBandwidth;
                options.BandwidthBurst = UserLimitsOptions.MinimumBurst;
                break;
            default:
                throw new ArgumentException($"Unknown setting '{setting}'.", nameof(setting));
        }
    }
}
