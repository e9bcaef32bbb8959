using System.Buffers;
using System.Globalization;
using System.Text;
using KestrelSocks.Protocol;

namespace KestrelSocks.Diagnostics;

/// <summary>
/// Client-chosen text (usernames, domain names) made safe for a log line: a name with LF, CR, ANSI escapes, NUL or
/// bidirectional overrides could otherwise forge or hide log lines. Control and format characters become escapes
/// (<c>\n</c>, <c>\x1b</c>, <c>\u202e</c>), a backslash becomes <c>\\</c>, and long text is cut to a bound with its
/// length noted. Text that needs none of this is returned as it is, without allocating.
/// </summary>
internal static class LogText
{
    /// <summary>Longest text kept, in characters; a 255-byte SOCKS name fits.</summary>
    public const int DefaultMaxLength = 256;

    private static readonly SearchValues<char> _printableAscii = SearchValues.Create(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    public static string Escape(string? value, int maxLength = DefaultMaxLength)
    {
        if (value is null)
        {
            return "";
        }

        var firstUnsafe = value.AsSpan().IndexOfAnyExcept(_printableAscii);
        if (firstUnsafe < 0 && value.Length <= maxLength)
        {
            return value;
        }

        return EscapeSlow(value, firstUnsafe < 0 ? value.Length : firstUnsafe, maxLength);
    }

    /// <summary>Raw bytes from the wire (a domain name that may not be UTF-8): valid UTF-8 is decoded, anything else is escaped byte by byte.</summary>
    public static string Escape(ReadOnlySpan<byte> value, int maxLength = DefaultMaxLength)
    {
        var builder = new StringBuilder(Math.Min(value.Length, maxLength) + 8);
        var kept = 0;
        while (!value.IsEmpty && kept < maxLength)
        {
            var status = Rune.DecodeFromUtf8(value, out var rune, out var consumed);
            if (status == OperationStatus.Done)
            {
                kept += Append(builder, rune);
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{value[0]:x2}");
                kept++;
                consumed = 1;
            }

            value = value[consumed..];
        }

        if (!value.IsEmpty)
        {
            builder.Append(CultureInfo.InvariantCulture, $"…(+{value.Length} bytes)");
        }

        return builder.ToString();
    }

    /// <summary>A request's destination for a log line: a domain name escaped, an address as it is.</summary>
    public static string Destination(in Socks5Address destination) =>
        destination.Type == AddressType.DomainName
            ? string.Create(CultureInfo.InvariantCulture, $"{Escape(destination.AddressBytes)}:{destination.Port}")
            : destination.ToString();

    private static string EscapeSlow(string value, int safePrefix, int maxLength)
    {
        var builder = new StringBuilder(Math.Min(value.Length, maxLength) + 8);
        var prefix = Math.Min(safePrefix, maxLength);
        builder.Append(value, 0, prefix);
        var kept = prefix;
        var index = prefix;
        while (index < value.Length && kept < maxLength)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(index), out var rune, out var consumed) == OperationStatus.Done)
            {
                kept += Append(builder, rune);
            }
            else
            {
                // A lone surrogate.
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)value[index]:x4}");
                kept++;
                consumed = 1;
            }

            index += consumed;
        }

        if (index < value.Length)
        {
            builder.Append(CultureInfo.InvariantCulture, $"…(+{value.Length - index} chars)");
        }

        return builder.ToString();
    }

    private static int Append(StringBuilder builder, Rune rune)
    {
        switch (rune.Value)
        {
            case '\\':
                builder.Append(@"\\");
                return 1;
            case '\n':
                builder.Append(@"\n");
                return 1;
            case '\r':
                builder.Append(@"\r");
                return 1;
            case '\t':
                builder.Append(@"\t");
                return 1;
        }

        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
        {
            if (rune.Value <= 0xFF)
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{rune.Value:x2}");
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{rune.Value:x4}");
            }

            return 1;
        }

        Span<char> chars = stackalloc char[2];
        var written = rune.EncodeToUtf16(chars);
        builder.Append(chars[..written]);
        return 1;
    }
}
