using System.Text.Json;
using System.Text.Json.Serialization;

namespace KestrelSocks.LoadTest.Reporting;

/// <summary>The JSON shape of reports, shared by the writer and the comparison that reads them back.</summary>
internal static class ReportJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static LoadTestReport? Read(string path) => JsonSerializer.Deserialize<LoadTestReport>(File.ReadAllText(path), Options);
}
