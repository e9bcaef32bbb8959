using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Measurement;
using KestrelSocks.LoadTest.Reporting;
using KestrelSocks.LoadTest.Targets;
using KestrelSocks.Protocol;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// idle: M CONNECT sessions opened and held. The server's memory per session is its resident set (summed over its
/// process tree) after the sessions are open and have each echoed 16 bytes once, less the resident set before,
/// over M. The direct path measures the same for the echo target when it runs in its own process.
/// </summary>
internal static class IdleMode
{
    public const string Name = "idle";

    private const int ProbeLength = 16;
    private const int OpenConcurrency = 64;
    private const int FileMargin = 512;

    public static async Task<List<CaseResult>> RunAsync(ModeContext context)
    {
        var results = new List<CaseResult>();
        var placement = ChoosePlacement(context.Options);
        EchoTargetProcess? child = null;
        try
        {
            IPEndPoint echo;
            if (placement == IdleTargetPlacement.ChildProcess)
            {
                child = await EchoTargetProcess.StartAsync(context.CancellationToken);
                echo = child.EndPoint;
            }
            else
            {
                echo = context.Targets.Echo.EndPoint;
            }

            foreach (var path in context.Paths)
            {
                results.Add(await RunCaseAsync(context, path, echo, placement, child?.ProcessId));
            }
        }
        finally
        {
            if (child is not null)
            {
                await child.DisposeAsync();
            }
        }

        return results;
    }

    private static IdleTargetPlacement ChoosePlacement(LoadTestOptions options)
    {
        if (options.IdleTarget != IdleTargetPlacement.Auto)
        {
            return options.IdleTarget;
        }

        var own = ProcessTree.OpenFiles(Environment.ProcessId);
        return own is { } files && (2L * options.Sessions) + files.Open + FileMargin > files.Limit
            ? IdleTargetPlacement.ChildProcess
            : IdleTargetPlacement.InProcess;
    }

    /// <summary>Sessions that fit under the open-file limits of this process and, if it is one process, of the server.</summary>
    private static (int Sessions, string? Reason) FitSessions(ModeContext context, LoadPath path, IdleTargetPlacement placement)
    {
        var sessions = context.Options.Sessions;
        string? reason = null;
        if (ProcessTree.OpenFiles(Environment.ProcessId) is { } own)
        {
            var perSession = placement == IdleTargetPlacement.InProcess ? 2 : 1;
            var fit = (int)Math.Max(0, (own.Limit - own.Open - FileMargin) / perSession);
            if (fit < sessions)
            {
                sessions = fit;
                reason = string.Create(CultureInfo.InvariantCulture, $"capped at {fit} by the generator's open-file limit ({own.Limit}, {perSession} per session)");
            }
        }

        if (context.ServerPidFor(path) is { } pid
            && ProcessTree.Sample(pid, includeMemory: false).Processes == 1
            && ProcessTree.OpenFiles(pid) is { } server)
        {
            var fit = (int)Math.Max(0, (server.Limit - server.Open - FileMargin) / 2);
            if (fit < sessions)
            {
                sessions = fit;
                reason = string.Create(CultureInfo.InvariantCulture, $"capped at {fit} by the server's open-file limit ({server.Limit}, 2 per session)");
            }
        }

        return (sessions, reason);
    }

    private static async Task<CaseResult> RunCaseAsync(ModeContext context, LoadPath path, IPEndPoint echo, IdleTargetPlacement placement, int? childPid)
    {
        var options = context.Options;
        var (count, capReason) = FitSessions(context, path, placement);
        var result = new CaseResult
        {
            Mode = Name,
            Case = string.Create(CultureInfo.InvariantCulture, $"{count} sessions"),
            Target = path.Name,
            Note = string.Join("; ", new[]
            {
                placement == IdleTargetPlacement.ChildProcess ? "echo target in a child process" : "echo target in the generator process",
                capReason,
            }.Where(s => s is not null)),
        };
        var measuredPid = path.IsDirect ? childPid : options.ServerPid;
        var request = SocksClient.EncodeRequest(Socks5Command.Connect, echo);
        var sockets = new Socket?[count];
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        lifetime.CancelAfter(TimeSpan.FromMinutes(3));
        var token = lifetime.Token;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), token);
            var before = measuredPid is { } p0 ? ProcessTree.Sample(p0, includeMemory: true) : default;
            var cpu = new CpuWindow(context.ServerPidFor(path));
            cpu.Start();
            context.Progress.Write($"{Name} via {path.Name}: opening {count:N0} sessions");
            var opened = 0;
            var started = Stopwatch.GetTimestamp();
            var opening = Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = OpenConcurrency, CancellationToken = token }, async (i, ct) =>
            {
                try
                {
                    sockets[i] = await path.Client.ConnectAsync(echo, request, ct);
                    Interlocked.Increment(ref opened);
                }
                catch (Exception e) when (e is SocketException or SocksException or IOException)
                {
                    errors.Enqueue($"open: {e.Message}");
                }
            });
            while (await Task.WhenAny(opening, Task.Delay(1000, token)) != opening)
            {
                context.Progress.Write(string.Create(CultureInfo.InvariantCulture, $"{Name} via {path.Name}: {Volatile.Read(ref opened):N0} of {count:N0} open, {errors.Count} errors"));
            }

            await opening;
            var openSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            cpu.Stop();

            await Task.Delay(options.IdleSettle, token);
            var afterOpen = measuredPid is { } p1 ? ProcessTree.Sample(p1, includeMemory: true) : default;

            context.Progress.Write($"{Name} via {path.Name}: one {ProbeLength}-byte echo on each session");
            long verified = 0;
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = OpenConcurrency, CancellationToken = token }, async (i, ct) =>
            {
                if (sockets[i] is not { } socket)
                {
                    return;
                }

                var position = (long)i * ProbeLength;
                var buffer = new byte[ProbeLength];
                try
                {
                    await SocketIo.SendAllAsync(socket, context.Pattern.SliceMemory(position, ProbeLength), ct);
                    await SocketIo.ReceiveExactAsync(socket, buffer, ct);
                    if (context.Pattern.Matches(position, buffer))
                    {
                        Interlocked.Increment(ref verified);
                    }
                    else
                    {
                        errors.Enqueue("echo differs from what was sent");
                    }
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    errors.Enqueue($"echo: {e.Message}");
                }
            });

            await Task.Delay(options.IdleSettle, token);
            var afterEcho = measuredPid is { } p2 ? ProcessTree.Sample(p2, includeMemory: true) : default;

            foreach (var error in errors)
            {
                result.AddError(error);
            }

            result.DurationSeconds = openSeconds;
            result.ServerCpuSeconds = cpu.ServerSeconds;
            result.GeneratorCpuSeconds = cpu.GeneratorSeconds;
            if (measuredPid is not null && !before.IsEmpty && !afterEcho.IsEmpty && opened > 0)
            {
                result.AddMetric("memory per session", "KiB", (afterEcho.RssBytes - before.RssBytes) / 1024.0 / opened, higherIsBetter: false);
                result.AddMetric("memory per session before any data", "KiB", (afterOpen.RssBytes - before.RssBytes) / 1024.0 / opened, higherIsBetter: false);
                result.AddMetric("PSS per session", "KiB", (afterEcho.PssBytes - before.PssBytes) / 1024.0 / opened, higherIsBetter: false);
                result.AddMetric("processes", "count", afterEcho.Processes, higherIsBetter: false);
            }

            result.AddMetric("open rate", "sessions/s", opened / openSeconds, higherIsBetter: true);
            result.AddCpuPerUnit("session opened", opened);
            result.Verified = result.ErrorCount == 0 && verified == count && count > 0;
            result.Verification = string.Create(CultureInfo.InvariantCulture, $"{verified:N0} of {count:N0} sessions echoed {ProbeLength} bytes byte for byte");
            if (measuredPid is null)
            {
                result.Note += "; no process to measure memory of (the echo target shares the generator's process)";
            }

            context.Progress.Write(string.Create(
                CultureInfo.InvariantCulture,
                $"{Name} via {path.Name}: {opened:N0} open, {(result.Metrics.Count > 0 ? result.Headline!.Name + " " + result.Headline.Value.ToString("F2", CultureInfo.InvariantCulture) + " " + result.Headline.Unit : string.Empty)}, errors {result.ErrorCount}"));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                SocketIo.CloseQuietly(socket);
            }
        }

        return result;
    }
}
