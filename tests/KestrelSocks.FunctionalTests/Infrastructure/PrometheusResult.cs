namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>The answer to one PromQL query: the label sets of the series it returned, or the error it failed with.</summary>
internal sealed record PrometheusResult(IReadOnlyList<IReadOnlyDictionary<string, string>> Series, string? Error);
