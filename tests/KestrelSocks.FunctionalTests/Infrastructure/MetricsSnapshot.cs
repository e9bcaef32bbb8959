using System.Globalization;
using System.Text.RegularExpressions;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>A parsed <c>/metrics</c> scrape (Prometheus text format), queried by metric name and a subset of labels.</summary>
internal sealed partial class MetricsSnapshot
{
    private readonly List<MetricSample> _samples;

    private MetricsSnapshot(List<MetricSample> samples)
    {
        _samples = samples;
    }

    public static MetricsSnapshot Parse(string text)
    {
        var samples = new List<MetricSample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success || !double.TryParse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in Label().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["name"].Value] = label.Groups["value"].Value;
            }

            samples.Add(new MetricSample(match.Groups["name"].Value, labels, value));
        }

        return new MetricsSnapshot(samples);
    }

    /// <summary>The sum of every sample of <paramref name="name"/> that carries all <paramref name="labels"/>; 0 when there is none.</summary>
    public double Sum(string name, params (string Name, string Value)[] labels)
    {
        var sum = 0.0;
        foreach (var sample in _samples)
        {
            if (sample.Name == name && labels.All(l => sample.Labels.TryGetValue(l.Name, out var v) && v == l.Value))
            {
                sum += sample.Value;
            }
        }

        return sum;
    }

    /// <summary>As <see cref="Sum"/>, but false when no sample of the metric carries the labels, rather than 0.</summary>
    public bool TryGet(string name, (string Name, string Value)[] labels, out double value)
    {
        var matching = _samples.Where(sample => sample.Name == name && labels.All(l => sample.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        value = matching.Sum(sample => sample.Value);
        return matching.Count > 0;
    }

    /// <summary>As <see cref="Sum"/>, but a metric with no such sample fails the test instead of reading as 0.</summary>
    public double Require(string name, params (string Name, string Value)[] labels)
    {
        var matching = _samples.Where(sample => sample.Name == name && labels.All(l => sample.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        Assert.True(matching.Count > 0, $"No sample of {name}{{{string.Join(",", labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}} was exported.");
        return matching.Sum(sample => sample.Value);
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\S+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
