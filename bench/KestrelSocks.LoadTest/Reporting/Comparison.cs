using System.Globalization;
using System.Text;

namespace KestrelSocks.LoadTest.Reporting;

/// <summary>
/// Side-by-side comparison of many runs (compare.sh: every mode against every server, repeated): for each mode,
/// case and server the median, the spread and the ratios to the direct path and to a baseline server, as a
/// Markdown table, a JSON list and one SVG chart per mode.
/// </summary>
internal static class Comparison
{
    public static string Build(IReadOnlyList<LoadTestReport> reports, string baseline, string directory, string? title)
    {
        // Runs in the order they ran, so servers and cases keep the order compare.sh used.
        var modeOrder = LoadModeNames.All.Select(LoadModeNames.ToName).ToList();
        var cases = reports.OrderBy(r => r.Run.Started).SelectMany(r => r.Cases).ToList();
        var targets = cases.Select(c => c.Target).Distinct().OrderBy(t => t == "direct" ? 0 : 1).ToList();
        var figures = new List<ComparedFigure>();
        var markdown = new StringBuilder();
        markdown.Append("# ").Append(title ?? "Side-by-side load test").Append("\n\n");
        var first = reports.MinBy(r => r.Run.Started)!;
        var last = reports.MaxBy(r => r.Run.Finished)!;
        markdown.Append(ReportWriter.Describe(first.Run)).Append(". Last run finished ")
            .Append(last.Run.Finished.ToString("HH:mm", CultureInfo.InvariantCulture)).Append(" (load average ").Append(last.Run.LoadAverageEnd).Append(").\n\n");
        markdown.Append(string.Create(CultureInfo.InvariantCulture, $"{reports.Count} runs; each figure is the median over repetitions, with the lowest and highest run. Ratios compare medians; \"× {baseline}\" divides by {baseline}'s median.\n\n"));

        Directory.CreateDirectory(directory);
        foreach (var mode in cases.Select(c => c.Mode).Distinct().OrderBy(m => modeOrder.IndexOf(m) is var i && i >= 0 ? i : int.MaxValue))
        {
            var modeCases = cases.Where(c => c.Mode == mode).ToList();
            var headline = modeCases.Where(c => c.Target != "direct").Select(c => c.Headline).FirstOrDefault(h => h is not null)
                ?? modeCases.Select(c => c.Headline).FirstOrDefault(h => h is not null);
            if (headline is null)
            {
                continue;
            }

            var metricNames = modeCases.SelectMany(c => c.Metrics).Select(m => (m.Name, m.Unit, m.HigherIsBetter)).Distinct().ToList();
            foreach (var caseName in modeCases.Select(c => c.Case).Distinct())
            {
                foreach (var (name, unit, higher) in metricNames)
                {
                    var byTarget = new Dictionary<string, (double Median, double Min, double Max, int Runs, int Verified)>();
                    foreach (var target in targets)
                    {
                        var runs = modeCases.Where(c => c.Case == caseName && c.Target == target).ToList();
                        var values = runs.Select(c => c.Metrics.FirstOrDefault(m => m.Name == name && m.Unit == unit)?.Value).OfType<double>().Where(double.IsFinite).ToList();
                        if (values.Count > 0)
                        {
                            byTarget[target] = (Median(values), values.Min(), values.Max(), values.Count, runs.Count(c => c.Verified));
                        }
                    }

                    foreach (var (target, f) in byTarget)
                    {
                        double? Ratio(string other) => other != target && byTarget.TryGetValue(other, out var o) && o.Median != 0 ? f.Median / o.Median : null;
                        figures.Add(new ComparedFigure(mode, caseName, target, name, unit, higher, f.Median, f.Min, f.Max, f.Runs, f.Verified, Ratio("direct"), Ratio(baseline)));
                    }
                }
            }

            WriteMode(markdown, mode, headline, figures.Where(f => f.Mode == mode).ToList(), targets, baseline, modeCases);
            var chart = RenderChart(mode, headline, figures.Where(f => f.Mode == mode && f.Metric == headline.Name && f.Unit == headline.Unit).ToList(), targets);
            File.WriteAllText(Path.Combine(directory, mode + ".svg"), chart);
        }

        File.WriteAllText(Path.Combine(directory, "comparison.json"), ReportJson.Serialize(figures));
        File.WriteAllText(Path.Combine(directory, "comparison.md"), markdown.ToString());
        return markdown.ToString();
    }

    private static void WriteMode(StringBuilder markdown, string mode, Metric headline, List<ComparedFigure> figures, List<string> targets, string baseline, List<CaseResult> modeCases)
    {
        markdown.Append("## ").Append(mode).Append("\n\n");
        markdown.Append("![").Append(mode).Append("](").Append(mode).Append(".svg)\n\n");
        var main = new MarkdownTable("case", "server", $"{headline.Name} ({headline.Unit})", "min–max", "× direct", $"× {baseline}", "server CPU", "verified");
        var caseOrder = modeCases.Select(c => c.Case).Distinct().ToList();
        foreach (var f in figures.Where(f => f.Metric == headline.Name && f.Unit == headline.Unit).OrderBy(f => caseOrder.IndexOf(f.Case)).ThenBy(f => targets.IndexOf(f.Target)))
        {
            var cpu = figures.FirstOrDefault(c => c.Case == f.Case && c.Target == f.Target && c.Metric.StartsWith("server CPU", StringComparison.Ordinal) && c.Unit.StartsWith("µs", StringComparison.Ordinal));
            main.Add(
                f.Case,
                f.Target,
                SvgBarChart.Format(f.Median),
                f.Runs > 1 ? $"{SvgBarChart.Format(f.Min)}–{SvgBarChart.Format(f.Max)}" : "",
                f.RatioToDirect is { } d ? d.ToString("F2", CultureInfo.InvariantCulture) + "×" : "",
                f.RatioToBaseline is { } b ? b.ToString("F2", CultureInfo.InvariantCulture) + "×" : "",
                cpu is null ? "" : $"{SvgBarChart.Format(cpu.Median)} {cpu.Unit}",
                string.Create(CultureInfo.InvariantCulture, $"{f.VerifiedRuns}/{f.Runs}"));
        }

        main.WriteTo(markdown);
        var others = figures.Select(f => (f.Metric, f.Unit)).Distinct().Where(m => m != (headline.Name, headline.Unit))
            .OrderBy(m => LadderRate(m.Metric)).ToList();
        if (others.Count > 0)
        {
            var headers = new List<string> { "case", "server" };
            headers.AddRange(others.Select(m => $"{m.Metric} ({m.Unit})"));
            var more = new MarkdownTable([.. headers]);
            foreach (var group in figures.GroupBy(f => (f.Case, f.Target)).OrderBy(g => caseOrder.IndexOf(g.Key.Case)).ThenBy(g => targets.IndexOf(g.Key.Target)))
            {
                var row = new List<string> { group.Key.Case, group.Key.Target };
                row.AddRange(others.Select(m => group.FirstOrDefault(f => f.Metric == m.Metric && f.Unit == m.Unit) is { } f ? SvgBarChart.Format(f.Median) : ""));
                more.Add([.. row]);
            }

            markdown.Append("Medians of the other figures:\n\n");
            more.WriteTo(markdown);
        }

        var failures = modeCases.Where(c => !c.Verified).ToList();
        foreach (var failure in failures.GroupBy(c => (c.Case, c.Target)))
        {
            var errors = failure.SelectMany(c => c.Errors).Distinct().Take(3);
            markdown.Append(string.Create(CultureInfo.InvariantCulture, $"- **not verified**: {failure.Key.Case} via {failure.Key.Target} in {failure.Count()} run(s): {string.Join("; ", errors)}\n"));
        }

        foreach (var note in modeCases.Where(c => !string.IsNullOrEmpty(c.Note)).Select(c => $"{c.Target}: {c.Note}").Distinct())
        {
            markdown.Append("- note: ").Append(note).Append('\n');
        }

        markdown.Append('\n');
    }

    private static string RenderChart(string mode, Metric headline, List<ComparedFigure> figures, List<string> targets)
    {
        var groups = figures.GroupBy(f => f.Case)
            .Select(g => new ChartGroup(g.Key, [.. g.OrderBy(f => targets.IndexOf(f.Target)).Select(f => new ChartBar(f.Target, f.Median, f.Min, f.Max))]))
            .ToList();
        return SvgBarChart.Render($"{mode}: {headline.Name} (median of runs, whiskers: lowest to highest)", headline.Unit, headline.HigherIsBetter, groups, targets);
    }

    /// <summary>Puts "loss at N/s" columns first, in rate order; other figures keep their order after them.</summary>
    private static long LadderRate(string metric) =>
        metric.StartsWith("loss at ", StringComparison.Ordinal)
        && long.TryParse(metric.AsSpan(8, metric.IndexOf('/', StringComparison.Ordinal) - 8), NumberStyles.Integer, CultureInfo.InvariantCulture, out var rate)
            ? rate
            : long.MaxValue;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
