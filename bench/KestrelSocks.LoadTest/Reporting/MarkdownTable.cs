using System.Text;

namespace KestrelSocks.LoadTest.Reporting;

/// <summary>Builds a GitHub Markdown table.</summary>
internal sealed class MarkdownTable
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];

    public MarkdownTable(params string[] headers)
    {
        _headers = headers;
    }

    public void Add(params string[] cells) => _rows.Add(cells);

    public void WriteTo(StringBuilder builder)
    {
        builder.Append("| ").AppendJoin(" | ", _headers).Append(" |\n");
        builder.Append('|').AppendJoin('|', _headers.Select(_ => " --- ")).Append("|\n");
        foreach (var row in _rows)
        {
            builder.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))).Append(" |\n");
        }

        builder.Append('\n');
    }
}
