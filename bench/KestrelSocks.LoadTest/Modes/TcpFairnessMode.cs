using System.Globalization;
using System.Net;
using KestrelSocks.LoadTest.Targets;
using KestrelSocks.LoadTest.Reporting;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// tcp-fairness: a 64-byte ping-pong session measured while eight bulk download streams run through the same server
/// at the same time. A relay that lets bulk tunnels hold its threads shows it here as ping-pong tail latency.
/// The ping-pong client and its echo run on dedicated threads with blocking calls: on the thread pool they would
/// queue behind the generator's own bulk loops, and the mode would measure the generator instead of the server.
/// </summary>
internal static class TcpFairnessMode
{
    public const string Name = "tcp-fairness";
    private const int BulkStreams = 8;

    public static async Task<List<CaseResult>> RunAsync(ModeContext context)
    {
        var results = new List<CaseResult>();
        var caseName = string.Create(CultureInfo.InvariantCulture, $"{context.Options.MessageSize} B ping-pong beside {BulkStreams} bulk streams");
        await using var echo = TcpBlockingEchoTarget.Start(IPAddress.Loopback);
        foreach (var path in context.Paths)
        {
            // Both start together and share the same warm-up and window, so the ping-pong is measured under full load.
            var bulk = TcpBulkMode.RunCaseAsync(context, path, BulkStreams, BulkDirection.Download);
            var pingPong = ExchangeRunner.RunAsync(context, path, Name, caseName, echo.EndPoint, workers: 1, ExchangeLoop.BlockingPingPong);
            await Task.WhenAll(bulk, pingPong);

            var result = await pingPong;
            var load = await bulk;
            foreach (var error in load.Errors)
            {
                result.AddError($"bulk load: {error}");
            }

            result.Verified &= load.Verified;
            result.Verification += $"; bulk load: {load.Verification}";
            results.Add(result);
        }

        return results;
    }
}
