namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>One line of the Prometheus text format: <c>name{label="value",...} value</c>.</summary>
internal sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
