namespace KestrelSocks.LoadTest.Reporting;

/// <summary>One figure of a case, such as throughput in MB/s or p99 latency in µs.</summary>
internal sealed record Metric(string Name, string Unit, double Value, bool HigherIsBetter);
