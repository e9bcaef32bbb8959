using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.Protocol;

/// <summary>
/// Addresses and ports written as ASCII text (a PROXY protocol v1 line, a connect-udp path), in their strict forms
/// only: none of the shorthands <see cref="IPAddress.TryParse(string, out IPAddress)"/> also accepts (<c>127.1</c>,
/// octal or hex octets, scope IDs, brackets), and no leading zeros.
/// </summary>
internal static class AddressText
{
    /// <summary>The longest IPv6 text form: six groups and an embedded dotted quad.</summary>
    public const int MaxIPv6Length = 45;

    /// <summary>Four decimal octets, 0–255 each, without leading zeros, into <paramref name="address"/>'s first 4 bytes.</summary>
    public static bool TryParseIPv4(ReadOnlySpan<byte> text, Span<byte> address)
    {
        for (var octet = 0; octet < 4; octet++)
        {
            var end = octet < 3 ? text.IndexOf((byte)'.') : text.Length;
            if (end < 0 || !TryParseDecimal(text[..end], 3, out var value) || value > 255)
            {
                return false;
            }

            address[octet] = (byte)value;
            text = octet < 3 ? text[(end + 1)..] : [];
        }

        return true;
    }

    /// <summary>Hex digits, colons and an embedded dotted quad only, into <paramref name="address"/>'s 16 bytes.</summary>
    public static bool TryParseIPv6(ReadOnlySpan<byte> text, Span<byte> address)
    {
        if (text.Length > MaxIPv6Length)
        {
            return false;
        }

        Span<char> chars = stackalloc char[MaxIPv6Length];
        for (var i = 0; i < text.Length; i++)
        {
            var c = (char)text[i];
            if (!char.IsAsciiHexDigit(c) && c is not (':' or '.'))
            {
                return false;
            }

            chars[i] = c;
        }

        return IPAddress.TryParse(chars[..text.Length], out var parsed)
            && parsed.AddressFamily == AddressFamily.InterNetworkV6
            && parsed.TryWriteBytes(address, out var written) && written == 16;
    }

    /// <summary>A port, 0–65535, in decimal without leading zeros (except "0" itself).</summary>
    public static bool TryParsePort(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        if (!TryParseDecimal(text, 5, out var value) || value > ushort.MaxValue)
        {
            return false;
        }

        port = (ushort)value;
        return true;
    }

    /// <summary>1 to <paramref name="maxDigits"/> ASCII digits, no leading zero except "0" itself.</summary>
    private static bool TryParseDecimal(ReadOnlySpan<byte> text, int maxDigits, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > maxDigits || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }

        foreach (var digit in text)
        {
            if (digit is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = (value * 10) + (digit - '0');
        }

        return true;
    }
}
