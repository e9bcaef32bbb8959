using Microsoft.Extensions.Logging;

namespace KestrelSocks.FunctionalTests.Infrastructure;

internal sealed class TestLogger : ILogger
{
    private readonly TestLogSink _sink;
    private readonly string _category;

    public TestLogger(TestLogSink sink, string category)
    {
        _sink = sink;
        _category = category;
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            _sink.Add(new LogEntry(logLevel, _category, eventId, formatter(state, exception), exception));
        }
    }
}
