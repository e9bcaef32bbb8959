using System.Globalization;
using System.Security;
using System.Text;

namespace KestrelSocks.LoadTest.Reporting;

/// <summary>
/// A horizontal grouped bar chart written by hand as SVG: one group per case, one bar per server, the value at
/// the end of each bar and, for repeated runs, a whisker from the lowest to the highest run.
/// </summary>
internal static class SvgBarChart
{
    private const int Width = 820;
    private const int LabelWidth = 210;
    private const int ValueWidth = 110;
    private const int BarHeight = 16;
    private const int BarGap = 3;
    private const int GroupGap = 14;
    private const int Top = 56;

    private static readonly string[] _palette = ["#512bd4", "#e07b00", "#2a9d8f", "#c0392b", "#6c8ebf", "#8e44ad"];

    public static string Render(string title, string unit, bool higherIsBetter, IReadOnlyList<ChartGroup> groups, IReadOnlyList<string> series)
    {
        var plotWidth = Width - LabelWidth - ValueWidth - 20;
        var max = groups.SelectMany(g => g.Bars).Select(b => Math.Max(b.Value, b.Max ?? 0)).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        if (max <= 0)
        {
            max = 1;
        }

        var height = Top + groups.Sum(g => (g.Bars.Count * (BarHeight + BarGap)) + GroupGap) + 40;
        var svg = new StringBuilder();
        Append(svg, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">");
        Append(svg, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"#ffffff\"/>");
        Append(svg, $"<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{Escape(title)}</text>");
        Append(svg, $"<text x=\"10\" y=\"40\" fill=\"#555\">{Escape(unit)}, {(higherIsBetter ? "higher is better" : "lower is better")}</text>");

        var y = Top;
        foreach (var group in groups)
        {
            var groupHeight = group.Bars.Count * (BarHeight + BarGap);
            Append(svg, $"<text x=\"{LabelWidth - 8}\" y=\"{y + (groupHeight / 2) + 4}\" text-anchor=\"end\">{Escape(group.Label)}</text>");
            foreach (var bar in group.Bars)
            {
                var color = ColorOf(bar.Series, series);
                var value = double.IsFinite(bar.Value) ? bar.Value : 0;
                var width = Math.Max(1, value / max * plotWidth);
                Append(svg, $"<rect x=\"{LabelWidth}\" y=\"{y}\" width=\"{F(width)}\" height=\"{BarHeight}\" fill=\"{color}\"><title>{Escape(bar.Series)}: {Escape(Format(bar.Value))} {Escape(unit)}</title></rect>");
                if (bar.Min is { } low && bar.Max is { } high && high > low)
                {
                    var x1 = LabelWidth + (low / max * plotWidth);
                    var x2 = LabelWidth + (high / max * plotWidth);
                    var mid = y + (BarHeight / 2.0);
                    Append(svg, $"<line x1=\"{F(x1)}\" y1=\"{F(mid)}\" x2=\"{F(x2)}\" y2=\"{F(mid)}\" stroke=\"#222\" stroke-width=\"1\"/>");
                    Append(svg, $"<line x1=\"{F(x1)}\" y1=\"{y + 3}\" x2=\"{F(x1)}\" y2=\"{y + BarHeight - 3}\" stroke=\"#222\"/>");
                    Append(svg, $"<line x1=\"{F(x2)}\" y1=\"{y + 3}\" x2=\"{F(x2)}\" y2=\"{y + BarHeight - 3}\" stroke=\"#222\"/>");
                }

                var textX = LabelWidth + Math.Max(width, bar.Max is { } m ? m / max * plotWidth : 0) + 5;
                Append(svg, $"<text x=\"{F(textX)}\" y=\"{y + BarHeight - 4}\" fill=\"#222\">{Escape(Format(bar.Value))}</text>");
                y += BarHeight + BarGap;
            }

            y += GroupGap;
        }

        var legendX = 10;
        foreach (var name in series)
        {
            Append(svg, $"<rect x=\"{legendX}\" y=\"{y + 6}\" width=\"12\" height=\"12\" fill=\"{ColorOf(name, series)}\"/>");
            Append(svg, $"<text x=\"{legendX + 16}\" y=\"{y + 16}\">{Escape(name)}</text>");
            legendX += 30 + (name.Length * 7);
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    public static string Format(double value)
    {
        if (!double.IsFinite(value))
        {
            return "n/a";
        }

        var magnitude = Math.Abs(value);
        var format = magnitude >= 1000 ? "N0" : magnitude >= 100 ? "F0" : magnitude >= 10 ? "F1" : "F2";
        return value.ToString(format, CultureInfo.InvariantCulture);
    }

    private static string ColorOf(string series, IReadOnlyList<string> all)
    {
        if (series == "direct")
        {
            return "#9e9e9e";
        }

        var others = all.Where(s => s != "direct").ToList();
        var index = Math.Max(0, others.IndexOf(series));
        return _palette[index % _palette.Length];
    }

    private static string F(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(text) ?? string.Empty;

    private static void Append(StringBuilder builder, FormattableString line)
    {
        builder.Append(FormattableString.Invariant(line)).Append('\n');
    }
}
