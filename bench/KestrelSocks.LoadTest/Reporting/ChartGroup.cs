namespace KestrelSocks.LoadTest.Reporting;

/// <summary>A group of bars for one case, one bar per server.</summary>
internal sealed record ChartGroup(string Label, IReadOnlyList<ChartBar> Bars);
