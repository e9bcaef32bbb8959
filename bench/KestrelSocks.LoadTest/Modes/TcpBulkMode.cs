using System.Diagnostics;
using System.Globalization;
using KestrelSocks.LoadTest.Client;
using KestrelSocks.LoadTest.Measurement;
using KestrelSocks.LoadTest.Reporting;
using KestrelSocks.LoadTest.Targets;
using KestrelSocks.Protocol;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// tcp-bulk: N streams push the pattern one way for the measured window. Throughput is what the receiving end
/// counted within the window (bytes still queued in socket buffers are not counted); every byte sent, in the
/// window or not, is checked against the pattern and the byte counts of both ends must agree.
/// </summary>
internal static class TcpBulkMode
{
    public const string Name = "tcp-bulk";

    private static readonly TimeSpan _drainTimeout = TimeSpan.FromSeconds(20);

    public static async Task<List<CaseResult>> RunAsync(ModeContext context)
    {
        var results = new List<CaseResult>();
        foreach (var streams in context.Options.Streams)
        {
            foreach (var direction in new[] { BulkDirection.Upload, BulkDirection.Download })
            {
                foreach (var path in context.Paths)
                {
                    results.Add(await RunCaseAsync(context, path, streams, direction));
                }
            }
        }

        return results;
    }

    public static string CaseName(int streams, BulkDirection direction) =>
        string.Create(CultureInfo.InvariantCulture, $"{streams} stream{(streams == 1 ? string.Empty : "s")} {(direction == BulkDirection.Upload ? "upload" : "download")}");

    internal static async Task<CaseResult> RunCaseAsync(ModeContext context, LoadPath path, int streamCount, BulkDirection direction)
    {
        var options = context.Options;
        var result = new CaseResult { Mode = Name, Case = CaseName(streamCount, direction), Target = path.Name };
        var target = context.Targets.Bulk;
        var request = SocksClient.EncodeRequest(Socks5Command.Connect, target.EndPoint);
        var clients = new List<BulkClientStream>(streamCount);
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        lifetime.CancelAfter(options.Warmup + options.Duration + _drainTimeout + TimeSpan.FromSeconds(10));
        var token = lifetime.Token;
        context.Progress.Write($"{Name} {result.Case} via {path.Name}: connecting");
        try
        {
            var header = new byte[TcpBulkTarget.HeaderLength];
            for (var i = 0; i < streamCount; i++)
            {
                var stream = new BulkStream(context.NextId(), direction);
                target.Register(stream);
                var socket = await path.Client.ConnectAsync(target.EndPoint, request, token);
                clients.Add(new BulkClientStream(socket, stream, context.Pattern, options.BulkChunkSize));
                TcpBulkTarget.WriteHeader(header, direction, stream.Id);
                await SocketIo.SendAllAsync(socket, header, token);
            }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or SocksException or IOException or OperationCanceledException)
        {
            result.AddError($"connect: {e.Message}");
            Cleanup(context, clients);
            result.Verification = "no stream was opened";
            return result;
        }

        var pumps = clients.Select(c => c.RunAsync(token)).ToArray();
        long Delivered() => clients.Sum(c => c.Delivered);

        await Task.Delay(options.Warmup, context.CancellationToken);
        var cpu = new CpuWindow(context.ServerPidFor(path));
        cpu.Start();
        var startBytes = Delivered();
        var start = Stopwatch.GetTimestamp();
        await context.Progress.WaitAsync(
            options.Duration,
            () => string.Create(CultureInfo.InvariantCulture, $"{Name} {result.Case} via {path.Name}: {(Delivered() - startBytes) / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e6:F1} MB/s"),
            context.CancellationToken);
        var endBytes = Delivered();
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        cpu.Stop();

        foreach (var client in clients)
        {
            client.StopSending();
            client.Stream.RequestStop();
        }

        var all = Task.WhenAll(pumps.Concat(clients.Select(c => c.Stream.TargetDone)));
        if (await Task.WhenAny(all, Task.Delay(_drainTimeout, context.CancellationToken)) != all)
        {
            result.AddError("streams did not finish within the drain timeout");
        }

        long checkedBytes = 0;
        foreach (var client in clients)
        {
            if (client.Error is { } clientError)
            {
                result.AddError(clientError);
            }

            if (client.Stream.Error is { } targetError)
            {
                result.AddError(targetError);
            }

            var (sent, received) = direction == BulkDirection.Upload
                ? (client.Sent, client.Stream.TargetReceived)
                : (client.Stream.TargetSent, client.Received);
            if (sent != received)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"stream {client.Stream.Id}: {sent} bytes sent, {received} received and checked"));
            }

            checkedBytes += received;
        }

        Cleanup(context, clients);
        var bytes = endBytes - startBytes;
        result.DurationSeconds = elapsed;
        result.ServerCpuSeconds = cpu.ServerSeconds;
        result.GeneratorCpuSeconds = cpu.GeneratorSeconds;
        result.AddMetric("throughput", "MB/s", bytes / elapsed / 1e6, higherIsBetter: true);
        result.AddCpuPerUnit("MB", bytes / 1e6);
        if (cpu.ServerSeconds is { } serverSeconds)
        {
            result.AddMetric("server CPU load", "% of a core", serverSeconds / elapsed * 100, higherIsBetter: false);
        }

        result.AddMetric("generator CPU load", "% of a core", cpu.GeneratorSeconds / elapsed * 100, higherIsBetter: false);
        result.Verified = result.ErrorCount == 0 && checkedBytes > 0;
        result.Verification = string.Create(CultureInfo.InvariantCulture, $"{checkedBytes:N0} bytes checked against the pattern, byte counts of both ends equal");
        context.Progress.Write(string.Create(CultureInfo.InvariantCulture, $"{Name} {result.Case} via {path.Name}: {result.Headline!.Value:F1} MB/s, verified={result.Verified}"));
        return result;
    }

    private static void Cleanup(ModeContext context, List<BulkClientStream> clients)
    {
        foreach (var client in clients)
        {
            client.Dispose();
            context.Targets.Bulk.Unregister(client.Stream);
        }
    }
}
