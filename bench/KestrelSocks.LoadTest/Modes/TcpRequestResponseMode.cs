using System.Globalization;
using KestrelSocks.LoadTest.Reporting;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// tcp-rr: many concurrent short sessions, each a greeting, a CONNECT, one echoed exchange and a close.
/// Sessions per second, and latency from the start of connect to the close.
/// </summary>
internal static class TcpRequestResponseMode
{
    public const string Name = "tcp-rr";

    public static async Task<List<CaseResult>> RunAsync(ModeContext context)
    {
        var results = new List<CaseResult>();
        var caseName = string.Create(CultureInfo.InvariantCulture, $"{context.Options.Concurrency} concurrent, {context.Options.MessageSize} B exchange");
        foreach (var path in context.Paths)
        {
            results.Add(await ExchangeRunner.RunAsync(context, path, Name, caseName, context.Targets.Echo.EndPoint, context.Options.Concurrency, ExchangeLoop.Sessions));
        }

        return results;
    }
}
