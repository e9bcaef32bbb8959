using System.Diagnostics;
using System.Globalization;

namespace KestrelSocks.LoadTest.Reporting;

/// <summary>Progress lines on standard error while a run goes on (or nowhere, for library callers).</summary>
internal sealed class ProgressLog
{
    private readonly TextWriter? _writer;
    private readonly long _start = Stopwatch.GetTimestamp();

    public ProgressLog(TextWriter? writer)
    {
        _writer = writer;
    }

    public static ProgressLog Silent { get; } = new(null);

    public void Write(string message)
    {
        if (_writer is null)
        {
            return;
        }

        var elapsed = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{elapsed,7:F1}s] {message}"));
        _writer.Flush();
    }

    /// <summary>Waits <paramref name="duration"/>, writing <paramref name="status"/> about once a second.</summary>
    public async Task WaitAsync(TimeSpan duration, Func<string> status, CancellationToken cancellationToken)
    {
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var left = end - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return;
            }

            var step = Math.Min(left, Stopwatch.Frequency);
            await Task.Delay(TimeSpan.FromSeconds((double)step / Stopwatch.Frequency), cancellationToken);
            if (_writer is not null && Stopwatch.GetTimestamp() < end)
            {
                Write(status());
            }
        }
    }
}
