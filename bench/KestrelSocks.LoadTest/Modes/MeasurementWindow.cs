using System.Diagnostics;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>A warm-up followed by the measured window, as Stopwatch timestamps fixed before the workers start.</summary>
internal readonly record struct MeasurementWindow(long Start, long End)
{
    public static MeasurementWindow After(TimeSpan warmup, TimeSpan duration)
    {
        var start = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        return new MeasurementWindow(start, start + (long)(duration.TotalSeconds * Stopwatch.Frequency));
    }

    public double Seconds => (double)(End - Start) / Stopwatch.Frequency;

    public bool Contains(long from, long to) => from >= Start && to <= End;

    public bool IsOver(long now) => now >= End;

    public TimeSpan UntilStart => TimeSpan.FromSeconds(Math.Max(0, (double)(Start - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));

    public TimeSpan UntilEnd => TimeSpan.FromSeconds(Math.Max(0, (double)(End - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
}
