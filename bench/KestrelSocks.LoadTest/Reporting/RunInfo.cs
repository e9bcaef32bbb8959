namespace KestrelSocks.LoadTest.Reporting;

/// <summary>Where and when a run happened, for the report header.</summary>
internal sealed class RunInfo
{
    public DateTimeOffset Started { get; set; }

    public DateTimeOffset Finished { get; set; }

    public string Machine { get; set; } = string.Empty;

    public int Cores { get; set; }

    public string Os { get; set; } = string.Empty;

    public string Runtime { get; set; } = string.Empty;

    public string? Commit { get; set; }

    public string? Note { get; set; }

    public string LoadAverageStart { get; set; } = string.Empty;

    public string LoadAverageEnd { get; set; } = string.Empty;

    public static RunInfo Capture(string? commit, string? note)
    {
        return new RunInfo
        {
            Started = DateTimeOffset.Now,
            Machine = ReadCpuModel(),
            Cores = Environment.ProcessorCount,
            Os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            Runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            Commit = commit,
            Note = note,
            LoadAverageStart = ReadLoadAverage(),
        };
    }

    public static string ReadLoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(' ', parts.Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static string ReadCpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            var memory = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
            var model = line?[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim() ?? "unknown CPU";
            var kib = memory is null ? 0 : long.Parse(memory.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            return $"{model}, {Environment.ProcessorCount} cores, {kib / 1024 / 1024.0:F0} GiB";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
