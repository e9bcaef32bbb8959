namespace KestrelSocks.LoadTest.Reporting;

/// <summary>What one run of the generator measured: the JSON report is this object.</summary>
internal sealed class LoadTestReport
{
    public RunInfo Run { get; set; } = new();

    /// <summary>The options that shaped the run, as text.</summary>
    public Dictionary<string, string> Settings { get; set; } = [];

    public List<CaseResult> Cases { get; set; } = [];

    /// <summary>True when every case verified its payloads.</summary>
    public bool AllVerified => Cases.Count > 0 && Cases.TrueForAll(c => c.Verified);
}
