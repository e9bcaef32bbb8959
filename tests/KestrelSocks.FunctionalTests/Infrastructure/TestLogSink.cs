using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// Keeps every message the host logs, so a test can assert on them (no errors, no secrets), and copies each to the
/// test's output, which the runner shows when a test fails.
/// </summary>
internal sealed class TestLogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();
    private readonly ITestOutputHelper? _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public TestLogSink(ITestOutputHelper? output)
    {
        _output = output;
    }

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public IEnumerable<LogEntry> Errors => _entries.Where(e => e.Level >= LogLevel.Error);

    public ILogger CreateLogger(string categoryName) => new TestLogger(this, categoryName);

    /// <summary>
    /// Waits until a message containing <paramref name="fragment"/> is logged. A session logs when it ends, which can be
    /// a moment after the client has what it wanted and has gone.
    /// </summary>
    public Task AssertLoggedAsync(string fragment) => Eventually.AssertAsync(
        () => _entries.Any(e => e.Message.Contains(fragment, StringComparison.Ordinal)),
        () => $"nothing logged contains '{fragment}'");

    public void Dispose()
    {
    }

    internal void Add(LogEntry entry)
    {
        _entries.Enqueue(entry);
        if (_output is null)
        {
            return;
        }

        try
        {
            _output.WriteLine($"[{_clock.Elapsed.TotalSeconds,7:0.000}] {entry.Level,-11} {entry.Category}[{entry.EventId.Id}] {entry.Message}"
                + (entry.Exception is null ? "" : Environment.NewLine + entry.Exception));
        }
        catch (InvalidOperationException)
        {
            // The test has already finished; xunit no longer takes its output.
        }
    }
}
