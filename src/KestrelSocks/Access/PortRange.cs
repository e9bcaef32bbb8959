namespace KestrelSocks.Access;

/// <summary>Destination ports <see cref="First"/> to <see cref="Last"/>, both included.</summary>
internal readonly record struct PortRange(ushort First, ushort Last)
{
    public bool Contains(int port) => port >= First && port <= Last;

    /// <summary>Parses <c>443</c> or <c>8000-8999</c>.</summary>
    public static bool TryParse(string? text, out PortRange range)
    {
        range = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        var dash = span.IndexOf('-');
        if (dash < 0)
        {
            if (!TryParsePort(span, out var port))
            {
                return false;
            }

            range = new PortRange(port, port);
            return true;
        }

        if (!TryParsePort(span[..dash].Trim(), out var first) || !TryParsePort(span[(dash + 1)..].Trim(), out var last) || first > last)
        {
            return false;
        }

        range = new PortRange(first, last);
        return true;
    }

    private static bool TryParsePort(ReadOnlySpan<char> text, out ushort port)
    {
        port = 0;
        if (text.IsEmpty || text.Length > 5 || !int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value > ushort.MaxValue)
        {
            return false;
        }

        port = (ushort)value;
        return true;
    }

    public override string ToString() => First == Last ? $"{First}" : $"{First}-{Last}";
}
