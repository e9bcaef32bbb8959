using System.Diagnostics;

namespace KestrelSocks.LoadTest.Measurement;

/// <summary>
/// Latency samples of one worker, in Stopwatch ticks, kept exactly (no histogram buckets) up to a cap.
/// One recorder per worker, so recording takes no lock; <see cref="Summarize"/> merges them after the run.
/// </summary>
internal sealed class LatencyRecorder
{
    private const int MaxSamples = 4_000_000;

    private long[] _samples = new long[4096];
    private int _count;

    public int Count => _count;

    public void Record(long ticks)
    {
        if (_count == _samples.Length)
        {
            if (_count >= MaxSamples)
            {
                return;
            }

            Array.Resize(ref _samples, Math.Min(MaxSamples, _samples.Length * 2));
        }

        _samples[_count++] = ticks;
    }

    /// <summary>Percentiles in microseconds over all recorders (nearest rank).</summary>
    public static LatencySummary Summarize(IEnumerable<LatencyRecorder> recorders)
    {
        var all = recorders.SelectMany(r => r._samples.Take(r._count)).ToArray();
        if (all.Length == 0)
        {
            return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        Array.Sort(all);
        double Micros(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        double Rank(double p) => Micros(all[Math.Clamp((int)Math.Ceiling(p * all.Length) - 1, 0, all.Length - 1)]);
        return new LatencySummary(all.Length, Rank(0.50), Rank(0.99), Rank(0.999), Micros(all[^1]), all.Average(Micros));
    }
}
