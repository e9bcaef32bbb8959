using Microsoft.Extensions.Logging;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>One message the host logged.</summary>
internal sealed record LogEntry(LogLevel Level, string Category, EventId EventId, string Message, Exception? Exception);
