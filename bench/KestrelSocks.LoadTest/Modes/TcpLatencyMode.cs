using System.Globalization;
using KestrelSocks.LoadTest.Reporting;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>tcp-latency: one long session, one message in flight at a time; round-trip percentiles.</summary>
internal static class TcpLatencyMode
{
    public const string Name = "tcp-latency";

    public static async Task<List<CaseResult>> RunAsync(ModeContext context)
    {
        var results = new List<CaseResult>();
        var caseName = string.Create(CultureInfo.InvariantCulture, $"1 session, {context.Options.MessageSize} B ping-pong");
        foreach (var path in context.Paths)
        {
            results.Add(await ExchangeRunner.RunAsync(context, path, Name, caseName, context.Targets.Echo.EndPoint, workers: 1, ExchangeLoop.PingPong));
        }

        return results;
    }
}
