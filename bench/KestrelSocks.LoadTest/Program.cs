using KestrelSocks.LoadTest.CommandLine;
using KestrelSocks.LoadTest.Reporting;
using KestrelSocks.LoadTest.Targets;

namespace KestrelSocks.LoadTest;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(OptionsParser.Usage);
            return args.Length == 0 ? 1 : 0;
        }

        if (args[0] == EchoTargetProcess.Command)
        {
            return await EchoTargetProcess.ServeAsync();
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        try
        {
            if (args[0] == "aggregate")
            {
                return Aggregate(args);
            }

            var options = OptionsParser.Parse(args, out var quiet);
            options.OutputDirectory ??= Path.Combine("bench", "results", DateTime.Now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), DateTime.Now.ToString("HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + args[0].Replace(',', '+'));
            var report = await LoadRunner.RunAsync(options, quiet ? null : Console.Error, cancel.Token);
            Console.Out.Write(File.ReadAllText(Path.Combine(options.OutputDirectory, "report.md")));
            return report.AllVerified ? 0 : 4;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(OptionsParser.Usage);
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("Cancelled.");
            return 130;
        }
    }

    private static int Aggregate(string[] args)
    {
        string? input = null;
        string? output = null;
        var baseline = "dante";
        string? title = null;
        foreach (var (key, value) in OptionsParser.Pairs([.. args.Skip(1)]))
        {
            switch (key)
            {
                case "in":
                    input = value;
                    break;
                case "out":
                    output = value;
                    break;
                case "baseline":
                    baseline = value ?? baseline;
                    break;
                case "title":
                    title = value;
                    break;
                default:
                    throw new ArgumentException($"Unknown option --{key}.");
            }
        }

        if (input is null || output is null)
        {
            throw new ArgumentException("aggregate needs --in and --out.");
        }

        var reports = Directory.EnumerateFiles(input, "report.json", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(ReportJson.Read)
            .OfType<LoadTestReport>()
            .ToList();
        if (reports.Count == 0)
        {
            throw new ArgumentException($"No report.json under {input}.");
        }

        Console.Out.Write(Comparison.Build(reports, baseline, output, title));
        return 0;
    }
}
