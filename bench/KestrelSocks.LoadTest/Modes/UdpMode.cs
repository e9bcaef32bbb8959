using System.Diagnostics;
using System.Globalization;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Measurement;
using KestrelSocks.LoadTest.Reporting;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// udp: K associations, each with its own socket (and control connection through a proxy), echo datagrams at a
/// fixed aggregate rate. Loss is counted exactly from sequence numbers; each rung of the rate ladder runs for a
/// bounded time, and the ladder stops at the first rung with loss at or above the threshold.
/// </summary>
internal static class UdpMode
{
    public const string Name = "udp";

    private static readonly TimeSpan _quietForDrain = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan _maxDrain = TimeSpan.FromSeconds(2);

    public static async Task<List<CaseResult>> RunAsync(ModeContext context)
    {
        var results = new List<CaseResult>();
        foreach (var associations in context.Options.Associations)
        {
            foreach (var path in context.Paths)
            {
                results.Add(await RunCaseAsync(context, path, associations));
            }
        }

        return results;
    }

    public static string CaseName(int associations) =>
        string.Create(CultureInfo.InvariantCulture, $"{associations} association{(associations == 1 ? string.Empty : "s")}");

    private static async Task<CaseResult> RunCaseAsync(ModeContext context, LoadPath path, int count)
    {
        var options = context.Options;
        var result = new CaseResult { Mode = Name, Case = CaseName(count), Target = path.Name, Steps = [] };
        var echo = context.Targets.UdpEcho.EndPoint;
        var token = context.CancellationToken;
        context.Progress.Write($"{Name} {result.Case} via {path.Name}: opening associations");
        var sockets = new UdpClientSocket[Math.Clamp(options.UdpSockets, 1, count)];
        for (var i = 0; i < sockets.Length; i++)
        {
            sockets[i] = new UdpClientSocket(context.Pattern, options.UdpPayloadSize, echo, !path.IsDirect, i);
        }

        var clients = new UdpAssociationClient[count];
        try
        {
            using var setup = CancellationTokenSource.CreateLinkedTokenSource(token);
            setup.CancelAfter(TimeSpan.FromSeconds(60));
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = setup.Token }, async (i, ct) =>
            {
                clients[i] = await UdpAssociationClient.OpenAsync(i, sockets[i % sockets.Length], path.Client, echo, ct);
            });
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or SocksException or IOException or OperationCanceledException)
        {
            result.AddError($"UDP ASSOCIATE: {e.Message}");
            result.Verification = "no association could be opened";
            Close(clients, sockets);
            return result;
        }

        foreach (var socket in sockets)
        {
            socket.Start(clients);
        }

        try
        {
            // Warm-up rung at the lowest rate: JIT, and the relay's first-datagram paths; not reported.
            var stepId = (int)context.NextId();
            await RunStepAsync(context, path, clients, echo, options.UdpRates.Min(), options.Warmup.TotalSeconds, stepId);

            double best = 0;
            foreach (var rate in options.UdpRates)
            {
                var step = await RunStepAsync(context, path, clients, echo, rate, options.UdpStepDuration.TotalSeconds, (int)context.NextId());
                result.Steps.Add(step);
                if (step.Passed)
                {
                    best = Math.Max(best, rate);
                }
                else if (!options.UdpFullLadder)
                {
                    break;
                }
            }

            result.AddMetric("max loss-free rate", "datagrams/s", best, higherIsBetter: true);
            foreach (var step in result.Steps)
            {
                result.AddMetric(string.Create(CultureInfo.InvariantCulture, $"loss at {step.TargetRate}/s"), "%", step.LossFraction * 100, higherIsBetter: false);
            }

            // Figures at the highest rung that passed (or the first rung, when none did), under fixed names so
            // repeated runs compare even when their ladders stopped at different rungs.
            var top = result.Steps.LastOrDefault(s => s.Passed) ?? result.Steps[0];
            result.AddMetric("rung of the figures below", "datagrams/s", top.TargetRate, higherIsBetter: true);
            result.AddMetric("delivered", "datagrams/s", top.DeliveredRate, higherIsBetter: true);
            if (top.ServerCpuMicrosPerDatagram is { } serverCpu)
            {
                result.AddMetric("server CPU", "µs/datagram", serverCpu, higherIsBetter: false);
            }

            result.AddMetric("generator CPU", "µs/datagram", top.GeneratorCpuMicrosPerDatagram, higherIsBetter: false);
            result.DurationSeconds = result.Steps.Count * options.UdpStepDuration.TotalSeconds;
            var corrupt = result.Steps.Sum(s => s.Corrupt);
            if (corrupt > 0)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{corrupt} datagrams failed the header or payload check"));
            }

            var received = result.Steps.Sum(s => s.Received);
            result.Verified = corrupt == 0 && received > 0;
            result.Verification = string.Create(CultureInfo.InvariantCulture, $"{received:N0} echoed datagrams checked (SOCKS header, stamp, {options.UdpPayloadSize - UdpDatagram.StampLength} pattern bytes)");
        }
        finally
        {
            Close(clients, sockets);
        }

        return result;
    }

    private static async Task<UdpStepResult> RunStepAsync(ModeContext context, LoadPath path, UdpAssociationClient[] clients, System.Net.IPEndPoint echo, int rate, double seconds, int stepId)
    {
        var options = context.Options;
        var perAssociation = (long)Math.Ceiling(rate * seconds / clients.Length) + 2;
        var step = new UdpStep(stepId, clients.Length, perAssociation);
        foreach (var client in clients)
        {
            client.BeginStep(step);
        }

        var senders = Math.Clamp(options.UdpSenders, 1, clients.Length);
        var pacers = new UdpPacer[senders];
        for (var s = 0; s < senders; s++)
        {
            var mine = clients.Where(c => c.Index % senders == s).ToArray();
            pacers[s] = new UdpPacer(mine, context.Pattern, options.UdpPayloadSize, echo, rate * (double)mine.Length / clients.Length, seconds, stepId, s);
        }

        long SentOk() => clients.Sum(c => c.SentOk);
        var cpu = new CpuWindow(context.ServerPidFor(path));
        cpu.Start();
        foreach (var pacer in pacers)
        {
            pacer.Start();
        }

        var label = string.Create(CultureInfo.InvariantCulture, $"{Name} {CaseName(clients.Length)} via {path.Name} at {rate}/s");
        await context.Progress.WaitAsync(
            TimeSpan.FromSeconds(seconds),
            () => string.Create(CultureInfo.InvariantCulture, $"{label}: sent {SentOk():N0}, received {step.UniqueReceived():N0}"),
            context.CancellationToken);
        await Task.Run(() =>
        {
            foreach (var pacer in pacers)
            {
                pacer.Join();
            }
        });

        // Drain: wait until every datagram came back or nothing arrived for a while.
        var sent = SentOk();
        var last = step.UniqueReceived();
        var quietSince = Stopwatch.GetTimestamp();
        var drainStart = Stopwatch.GetTimestamp();
        while (last < sent && Stopwatch.GetElapsedTime(quietSince) < _quietForDrain && Stopwatch.GetElapsedTime(drainStart) < _maxDrain)
        {
            await Task.Delay(20, context.CancellationToken);
            var now = step.UniqueReceived();
            if (now != last)
            {
                last = now;
                quietSince = Stopwatch.GetTimestamp();
            }
        }

        cpu.Stop();
        var sendSeconds = pacers.Max(p => p.Elapsed);
        var received = step.UniqueReceived();
        var lost = sent - received;
        var loss = sent == 0 ? 1.0 : (double)lost / sent;
        var fellBehind = pacers.Any(p => p.FellBehind) || sent < 0.99 * rate * seconds;
        var offeredSeconds = Math.Max(seconds, sendSeconds);
        var passed = !fellBehind && loss < options.LossThreshold;
        var stepResult = new UdpStepResult(
            TargetRate: rate,
            AchievedSendRate: sent / Math.Max(sendSeconds, 1e-9),
            Sent: sent,
            Received: received,
            Lost: lost,
            LossFraction: loss,
            DeliveredRate: received / offeredSeconds,
            Duplicates: clients.Sum(c => c.Duplicates),
            Corrupt: clients.Sum(c => c.Corrupt),
            Late: clients.Sum(c => c.Late),
            ServerCpuMicrosPerDatagram: cpu.ServerSeconds is { } server && received > 0 ? server * 1e6 / received : null,
            GeneratorCpuMicrosPerDatagram: received > 0 ? cpu.GeneratorSeconds * 1e6 / received : double.NaN,
            Passed: passed,
            SenderFellBehind: fellBehind);
        context.Progress.Write(string.Create(
            CultureInfo.InvariantCulture,
            $"{label}: sent {sent:N0} ({stepResult.AchievedSendRate:F0}/s), lost {lost:N0} ({loss * 100:F3}%), {(passed ? "pass" : fellBehind ? "generator fell behind" : "FAIL")}"));
        return stepResult;
    }

    private static void Close(UdpAssociationClient?[] clients, UdpClientSocket[] sockets)
    {
        foreach (var client in clients)
        {
            client?.Dispose();
        }

        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }
}
