namespace KestrelSocks.LoadTest.Reporting;

/// <summary>One figure of one server over repeated runs: median, spread and ratios, as comparison.json lists them.</summary>
internal sealed record ComparedFigure(
    string Mode,
    string Case,
    string Target,
    string Metric,
    string Unit,
    bool HigherIsBetter,
    double Median,
    double Min,
    double Max,
    int Runs,
    int VerifiedRuns,
    double? RatioToDirect,
    double? RatioToBaseline);
