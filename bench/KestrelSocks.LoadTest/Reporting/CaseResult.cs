namespace KestrelSocks.LoadTest.Reporting;

/// <summary>
/// One measured case on one path, such as "8 streams download" through the proxy. <see cref="Metrics"/>[0] is
/// its headline figure, the one charted and compared.
/// </summary>
internal sealed class CaseResult
{
    private const int MaxErrorsKept = 8;

    public required string Mode { get; init; }

    public required string Case { get; init; }

    /// <summary>"direct" or the proxy's name.</summary>
    public required string Target { get; init; }

    public List<Metric> Metrics { get; init; } = [];

    /// <summary>True when every payload byte the case moved was checked and matched, and no session failed.</summary>
    public bool Verified { get; set; }

    /// <summary>What was checked: bytes, exchanges or datagrams.</summary>
    public string Verification { get; set; } = string.Empty;

    public long ErrorCount { get; set; }

    /// <summary>A few distinct error messages, to say what went wrong.</summary>
    public List<string> Errors { get; init; } = [];

    public double DurationSeconds { get; set; }

    public double? ServerCpuSeconds { get; set; }

    public double GeneratorCpuSeconds { get; set; }

    public List<UdpStepResult>? Steps { get; set; }

    public string? Note { get; set; }

    public Metric? Headline => Metrics.Count > 0 ? Metrics[0] : null;

    public void AddError(string message)
    {
        ErrorCount++;
        if (Errors.Count < MaxErrorsKept && !Errors.Contains(message))
        {
            Errors.Add(message);
        }
    }

    public void AddMetric(string name, string unit, double value, bool higherIsBetter)
    {
        Metrics.Add(new Metric(name, unit, value, higherIsBetter));
    }

    /// <summary>Adds server and generator CPU per unit of work, in microseconds.</summary>
    public void AddCpuPerUnit(string unitName, double units, double scale = 1.0)
    {
        if (units <= 0)
        {
            return;
        }

        if (ServerCpuSeconds is { } server)
        {
            AddMetric("server CPU", $"µs/{unitName}", server * 1e6 * scale / units, higherIsBetter: false);
        }

        AddMetric("generator CPU", $"µs/{unitName}", GeneratorCpuSeconds * 1e6 * scale / units, higherIsBetter: false);
    }
}
