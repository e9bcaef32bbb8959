using System.Globalization;
using System.Net;

namespace KestrelSocks.Configuration;

/// <summary>Reads listener settings: an IP address and an explicit port, <c>127.0.0.1:1080</c> or <c>[::1]:1080</c>.</summary>
internal static class EndPointParser
{
    public static bool TryParse(string? value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        value = value.Trim();
        var colon = value.LastIndexOf(':');

        // IPEndPoint.TryParse accepts a bare address as port 0; a listener must name its port. That includes a bare
        // IPv6 address, whose last colon is not a port separator ("::1" or "::1:1080"): IPv6 needs brackets.
        if (colon < 0 || colon == value.Length - 1 || (value.StartsWith('[') ? value[colon - 1] != ']' : value.IndexOf(':') != colon))
        {
            return false;
        }

        if (!ushort.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return false;
        }

        if (!IPEndPoint.TryParse(value, out var parsed))
        {
            return false;
        }

        endPoint = parsed;
        return true;
    }

    public static IPEndPoint Parse(string value) =>
        TryParse(value, out var endPoint) ? endPoint : throw new FormatException($"'{value}' is not an IP endpoint such as 127.0.0.1:1080 or [::1]:1080.");
}
