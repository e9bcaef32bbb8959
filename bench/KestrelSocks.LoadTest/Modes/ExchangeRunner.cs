using System.Globalization;
using System.Net;
using KestrelSocks.LoadTest.Measurement;
using KestrelSocks.LoadTest.Reporting;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>Runs exchange workers on one path through warm-up and window, and turns them into a case result.</summary>
internal static class ExchangeRunner
{
    public static async Task<CaseResult> RunAsync(
        ModeContext context,
        LoadPath path,
        string mode,
        string caseName,
        IPEndPoint echo,
        int workers,
        ExchangeLoop loop)
    {
        var options = context.Options;
        var result = new CaseResult { Mode = mode, Case = caseName, Target = path.Name };
        var window = MeasurementWindow.After(options.Warmup, options.Duration);
        var all = Enumerable.Range(0, workers)
            .Select(i => new ExchangeWorker(path.Client, echo, context.Pattern, options.MessageSize, window, context.NextId()))
            .ToArray();
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        lifetime.CancelAfter(options.Warmup + options.Duration + TimeSpan.FromSeconds(30));
        context.Progress.Write($"{mode} {caseName} via {path.Name}: running");
        var tasks = all.Select((w, i) => loop switch
            {
                ExchangeLoop.Sessions => Task.Run(() => w.RunSessionsAsync(lifetime.Token)),
                ExchangeLoop.PingPong => Task.Run(() => w.RunPingPongAsync(lifetime.Token)),
                ExchangeLoop.BlockingPingPong => RunOnThread($"{mode}-ping-pong-{i}", () => w.RunPingPongBlocking(lifetime.Token)),
                _ => throw new ArgumentOutOfRangeException(nameof(loop), loop, null),
            })
            .ToArray();

        await Task.Delay(window.UntilStart, context.CancellationToken);
        var cpu = new CpuWindow(context.ServerPidFor(path));
        cpu.Start();
        await context.Progress.WaitAsync(
            window.UntilEnd,
            () => string.Create(CultureInfo.InvariantCulture, $"{mode} {caseName} via {path.Name}: {all.Sum(w => w.CompletedInWindow):N0} done, {all.Sum(w => w.Errors)} errors"),
            context.CancellationToken);
        cpu.Stop();
        await Task.WhenAll(tasks);

        var completed = all.Sum(w => w.CompletedInWindow);
        var latency = LatencyRecorder.Summarize(all.Select(w => w.Latencies));
        var seconds = window.Seconds;
        result.DurationSeconds = seconds;
        result.ServerCpuSeconds = cpu.ServerSeconds;
        result.GeneratorCpuSeconds = cpu.GeneratorSeconds;
        foreach (var worker in all.Where(w => w.Errors > 0))
        {
            for (var i = 0; i < worker.Errors; i++)
            {
                result.AddError(worker.FirstError!);
            }
        }

        var sessions = loop == ExchangeLoop.Sessions;
        var unit = sessions ? "session" : "round trip";
        if (sessions)
        {
            result.AddMetric("sessions", "/s", completed / seconds, higherIsBetter: true);
            result.AddMetric("p50 latency", "µs", latency.P50, higherIsBetter: false);
            result.AddMetric("p99 latency", "µs", latency.P99, higherIsBetter: false);
        }
        else
        {
            result.AddMetric("p50 latency", "µs", latency.P50, higherIsBetter: false);
            result.AddMetric("p99 latency", "µs", latency.P99, higherIsBetter: false);
            result.AddMetric("p99.9 latency", "µs", latency.P999, higherIsBetter: false);
            result.AddMetric("round trips", "/s", completed / seconds, higherIsBetter: true);
        }

        result.AddCpuPerUnit(unit, completed);
        var verified = all.Sum(w => w.Verified);
        result.Verified = result.ErrorCount == 0 && verified > 0;
        result.Verification = string.Create(CultureInfo.InvariantCulture, $"{verified:N0} echoes of {options.MessageSize} bytes matched byte for byte");
        context.Progress.Write(string.Create(CultureInfo.InvariantCulture, $"{mode} {caseName} via {path.Name}: {result.Headline!.Name} {result.Headline.Value:F1} {result.Headline.Unit}, errors {result.ErrorCount}"));
        return result;
    }

    /// <summary>Runs <paramref name="run"/> on a new background thread; the task ends with it, faulted if it throws.</summary>
    private static Task RunOnThread(string name, Action run)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                run();
                done.SetResult();
            }
            catch (Exception e)
            {
                // An exception escaping a thread would end the process; the caller's await reports it instead.
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }
}
