namespace KestrelSocks.LoadTest.Reporting;

/// <summary>One bar: a series (server) with its value and, optionally, the spread of repeated runs.</summary>
internal sealed record ChartBar(string Series, double Value, double? Min = null, double? Max = null);
