namespace KestrelSocks.LoadTest.Measurement;

/// <summary>Latency percentiles in microseconds.</summary>
internal readonly record struct LatencySummary(int Count, double P50, double P99, double P999, double Max, double Mean);
