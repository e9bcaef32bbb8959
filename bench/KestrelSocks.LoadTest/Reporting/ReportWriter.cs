using System.Globalization;
using System.Text;

namespace KestrelSocks.LoadTest.Reporting;

/// <summary>Writes one run's report.json, report.md and one SVG chart per mode.</summary>
internal static class ReportWriter
{
    public static void Write(LoadTestReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "report.json"), ReportJson.Serialize(report));
        var markdown = new StringBuilder();
        WriteHeader(markdown, report);
        foreach (var mode in report.Cases.Select(c => c.Mode).Distinct())
        {
            var cases = report.Cases.Where(c => c.Mode == mode).ToList();
            var chart = RenderChart(mode, cases);
            if (chart is not null)
            {
                File.WriteAllText(Path.Combine(directory, mode + ".svg"), chart);
            }

            WriteMode(markdown, mode, cases, chart is not null);
        }

        File.WriteAllText(Path.Combine(directory, "report.md"), markdown.ToString());
    }

    public static string Describe(RunInfo run)
    {
        var commit = run.Commit is null ? string.Empty : $", commit `{run.Commit}`";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{run.Started:yyyy-MM-dd HH:mm zzz}, {run.Machine}, {run.Os}, {run.Runtime}{commit}, load average {run.LoadAverageStart} at start, {run.LoadAverageEnd} at end");
    }

    private static void WriteHeader(StringBuilder markdown, LoadTestReport report)
    {
        markdown.Append("# Load test report\n\n");
        markdown.Append(Describe(report.Run)).Append(".\n\n");
        if (report.Run.Note is { } note)
        {
            markdown.Append(note).Append("\n\n");
        }

        var settings = new MarkdownTable("setting", "value");
        foreach (var (key, value) in report.Settings)
        {
            settings.Add(key, value);
        }

        settings.WriteTo(markdown);
        markdown.Append(report.AllVerified ? "Every case verified its payloads byte for byte.\n\n" : "**Some cases did not verify: see the errors below.**\n\n");
    }

    private static void WriteMode(StringBuilder markdown, string mode, List<CaseResult> cases, bool hasChart)
    {
        markdown.Append("## ").Append(mode).Append("\n\n");
        if (hasChart)
        {
            markdown.Append("![").Append(mode).Append("](").Append(mode).Append(".svg)\n\n");
        }

        var metricNames = cases.SelectMany(c => c.Metrics).Select(m => (m.Name, m.Unit)).Distinct().ToList();
        var headers = new List<string> { "case", "target" };
        headers.AddRange(metricNames.Select(m => $"{m.Name} ({m.Unit})"));
        headers.Add("× direct");
        headers.Add("verified");
        var table = new MarkdownTable([.. headers]);
        foreach (var result in cases)
        {
            var row = new List<string> { result.Case, result.Target };
            foreach (var (name, unit) in metricNames)
            {
                var metric = result.Metrics.FirstOrDefault(m => m.Name == name && m.Unit == unit);
                row.Add(metric is null ? "" : SvgBarChart.Format(metric.Value));
            }

            var direct = cases.FirstOrDefault(c => c.Case == result.Case && c.Target == "direct");
            row.Add(Ratio(result, direct));
            row.Add(result.Verified ? "yes" : $"**no** ({result.ErrorCount} errors)");
            table.Add([.. row]);
        }

        table.WriteTo(markdown);
        foreach (var result in cases.Where(c => c.Steps is { Count: > 0 }))
        {
            markdown.Append("Rate ladder, ").Append(result.Case).Append(" via ").Append(result.Target).Append(":\n\n");
            var steps = new MarkdownTable("rate (/s)", "sent (/s)", "sent", "received", "lost", "loss", "delivered (/s)", "dup", "corrupt", "late", "server CPU (µs/dgram)", "result");
            foreach (var s in result.Steps!)
            {
                steps.Add(
                    s.TargetRate.ToString("N0", CultureInfo.InvariantCulture),
                    SvgBarChart.Format(s.AchievedSendRate),
                    s.Sent.ToString("N0", CultureInfo.InvariantCulture),
                    s.Received.ToString("N0", CultureInfo.InvariantCulture),
                    s.Lost.ToString("N0", CultureInfo.InvariantCulture),
                    (s.LossFraction * 100).ToString("F3", CultureInfo.InvariantCulture) + " %",
                    SvgBarChart.Format(s.DeliveredRate),
                    s.Duplicates.ToString(CultureInfo.InvariantCulture),
                    s.Corrupt.ToString(CultureInfo.InvariantCulture),
                    s.Late.ToString(CultureInfo.InvariantCulture),
                    s.ServerCpuMicrosPerDatagram is { } cpu ? SvgBarChart.Format(cpu) : "",
                    s.Passed ? "pass" : s.SenderFellBehind ? "generator behind" : "fail");
            }

            steps.WriteTo(markdown);
        }

        foreach (var result in cases)
        {
            markdown.Append("- ").Append(result.Case).Append(" via ").Append(result.Target).Append(": ").Append(result.Verification);
            if (result.Note is { Length: > 0 } note)
            {
                markdown.Append("; ").Append(note);
            }

            markdown.Append('\n');
            foreach (var error in result.Errors)
            {
                markdown.Append("  - error: ").Append(error).Append('\n');
            }
        }

        markdown.Append('\n');
    }

    private static string Ratio(CaseResult result, CaseResult? direct)
    {
        if (direct is null || ReferenceEquals(direct, result) || result.Headline is not { } headline)
        {
            return "";
        }

        var baseline = direct.Metrics.FirstOrDefault(m => m.Name == headline.Name && m.Unit == headline.Unit);
        return baseline is null || baseline.Value == 0 ? "" : (headline.Value / baseline.Value).ToString("F2", CultureInfo.InvariantCulture) + "×";
    }

    private static string? RenderChart(string mode, List<CaseResult> cases)
    {
        var headline = cases.Select(c => c.Headline).FirstOrDefault(h => h is not null);
        if (headline is null)
        {
            return null;
        }

        var series = cases.Select(c => c.Target).Distinct().ToList();
        var groups = cases.GroupBy(c => c.Case)
            .Select(g => new ChartGroup(g.Key, [.. g.Select(c => new ChartBar(c.Target, c.Metrics.FirstOrDefault(m => m.Name == headline.Name)?.Value ?? double.NaN))]))
            .ToList();
        return SvgBarChart.Render($"{mode}: {headline.Name}", headline.Unit, headline.HigherIsBetter, groups, series);
    }
}
