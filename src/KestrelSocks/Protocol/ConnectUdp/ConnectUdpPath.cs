using System.Globalization;

namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// The target of a connect-udp request, from a path of the default URI template
/// <c>/.well-known/masque/udp/{target_host}/{target_port}/</c> (RFC 9298 section 2). The host comes back as a
/// <see cref="Socks5Address"/>, so the UDP relay and the access rules take it as they take a SOCKS5 UDP ASSOCIATE.
/// </summary>
/// <remarks>
/// The input is the path as it was sent, still percent-encoded (the path part of <c>IHttpRequestFeature.RawTarget</c>,
/// or the <c>:path</c> pseudo-header), not the already decoded <c>HttpRequest.Path</c>. The parse is strict:
/// <list type="bullet">
/// <item>The template ends with "/", and so must the path: ".../443" without it is <see cref="ConnectUdpPathError.MissingSegment"/>.
/// A query, which the template does not have, is <see cref="ConnectUdpPathError.ExtraSegment"/>.</item>
/// <item>Each segment is percent-decoded once (RFC 3986 section 2.1); a percent-encoded "/" (%2F) decodes into the
/// segment, where no valid host or port can contain it. An IPv6 literal comes with its colons as %3A (RFC 6570
/// simple expansion encodes them); a literal ":" is accepted too, being a valid path character with the same meaning
/// here. There are no brackets and no zone ID ("%25" decodes to "%", which no address contains). An IPv4-mapped
/// address stays IPv6, as in a SOCKS5 request; the destination resolver unmaps it before rules and sockets see it.</item>
/// <item>A host whose last label is all digits must be an IPv4 dotted quad without leading zeros: "1.2.3.04" or "10.1"
/// would be names to DNS but addresses to most resolvers, so they are refused rather than guessed.</item>
/// <item>A DNS name is letters, digits, hyphens and dots (RFC 1035 section 2.3.1, with RFC 1123's leading digits):
/// labels of 1 to 63 bytes that neither start nor end with a hyphen, no empty label (so no trailing dot), at most 255
/// bytes in all (what a <see cref="Socks5Address"/> holds). The case is kept as sent.</item>
/// <item>The port is 1 to 65535 in decimal without leading zeros: "0" names no port, and "08" is refused so that one
/// port has one spelling.</item>
/// </list>
/// </remarks>
internal static class ConnectUdpPath
{
    /// <summary>The default template up to its first variable.</summary>
    public const string Prefix = "/.well-known/masque/udp/";

    private const int MaxHostLength = 255;

    // The longest IPv6 text: eight groups of four hex digits and seven colons, or six groups and a dotted quad.

    /// <summary>
    /// Parses <paramref name="path"/>. True with the target, <paramref name="error"/> <see cref="ConnectUdpPathError.None"/>;
    /// false with the reason and a default <paramref name="target"/>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> path, out Socks5Address target, out ConnectUdpPathError error)
    {
        target = default;
        error = Parse(path, ref target);
        return error == ConnectUdpPathError.None;
    }

    /// <summary>
    /// The request path for <paramref name="target"/>, as the client agent sends it: the inverse of
    /// <see cref="TryParse"/>, with an IPv6 address in its RFC 5952 text and its colons as %3A (RFC 6570 simple
    /// expansion), and a domain name as it is (its bytes need no encoding). Per request, not per datagram: it allocates.
    /// </summary>
    public static string Format(in Socks5Address target)
    {
        var host = target.Type switch
        {
            AddressType.IPv6 => target.ToIPAddress().ToString().Replace(":", "%3A", StringComparison.Ordinal),
            AddressType.IPv4 => target.ToIPAddress().ToString(),
            AddressType.DomainName when IsDnsName(target.AddressBytes) => target.GetHostName(),
            _ => throw new ArgumentException($"{target} cannot be named in a connect-udp path.", nameof(target)),
        };
        if (target.Port == 0)
        {
            throw new ArgumentException("Port 0 cannot be named in a connect-udp path.", nameof(target));
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Prefix}{host}/{target.Port}/");
    }

    private static ConnectUdpPathError Parse(ReadOnlySpan<char> path, ref Socks5Address target)
    {
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return ConnectUdpPathError.NotUdpProxyingPath;
        }

        var rest = path[Prefix.Length..];
        var hostEnd = rest.IndexOfAny('/', '?');
        if (hostEnd < 0 || rest[hostEnd] == '?')
        {
            return ConnectUdpPathError.MissingSegment;
        }

        var hostText = rest[..hostEnd];
        rest = rest[(hostEnd + 1)..];
        var portEnd = rest.IndexOfAny('/', '?');
        if (portEnd < 0 || rest[portEnd] == '?')
        {
            return ConnectUdpPathError.MissingSegment;
        }

        var portText = rest[..portEnd];
        if (portEnd + 1 < rest.Length)
        {
            return ConnectUdpPathError.ExtraSegment;
        }

        if (hostText.IsEmpty)
        {
            return ConnectUdpPathError.EmptyHost;
        }

        // One byte more than the longest host, to tell "too long" from "just fits".
        Span<byte> host = stackalloc byte[MaxHostLength + 1];
        var hostError = Decode(hostText, host, out var hostLength);
        if (hostError != ConnectUdpPathError.None)
        {
            return hostError;
        }

        if (hostLength > MaxHostLength)
        {
            return ConnectUdpPathError.HostTooLong;
        }

        // The port is decoded too: "%34%34%33" is "443" (RFC 3986 section 2.3), and anything else is refused below.
        Span<byte> port = stackalloc byte[6];
        var portError = Decode(portText, port, out var portLength);
        if (portError != ConnectUdpPathError.None)
        {
            return portError;
        }

        if (portLength > 5 || !AddressText.TryParsePort(port[..portLength], out var portNumber) || portNumber == 0)
        {
            return ConnectUdpPathError.InvalidPort;
        }

        return ParseHost(host[..hostLength], portNumber, ref target);
    }

    /// <summary>
    /// Percent-decodes <paramref name="text"/> into <paramref name="destination"/>, stopping (with
    /// <paramref name="length"/> one past its end) once it is full, so an overlong segment costs no more than that.
    /// </summary>
    private static ConnectUdpPathError Decode(ReadOnlySpan<char> text, Span<byte> destination, out int length)
    {
        length = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            int value;
            if (c == '%')
            {
                if (i + 2 >= text.Length)
                {
                    return ConnectUdpPathError.InvalidPercentEncoding;
                }

                var high = HexValue(text[i + 1]);
                var low = HexValue(text[i + 2]);
                if (high < 0 || low < 0)
                {
                    return ConnectUdpPathError.InvalidPercentEncoding;
                }

                value = (high << 4) | low;
                i += 2;
            }
            else if (char.IsAscii(c))
            {
                value = c;
            }
            else
            {
                return ConnectUdpPathError.InvalidPercentEncoding;
            }

            if (length == destination.Length)
            {
                length++;
                return ConnectUdpPathError.None;
            }

            destination[length++] = (byte)value;
        }

        return ConnectUdpPathError.None;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static ConnectUdpPathError ParseHost(ReadOnlySpan<byte> host, ushort port, ref Socks5Address target)
    {
        if (host.Contains((byte)':'))
        {
            Span<byte> address = stackalloc byte[16];
            if (!AddressText.TryParseIPv6(host, address))
            {
                return ConnectUdpPathError.InvalidHost;
            }

            target = new Socks5Address(AddressType.IPv6, address, port);
            return ConnectUdpPathError.None;
        }

        var lastLabel = host[(host.LastIndexOf((byte)'.') + 1)..];
        if (!lastLabel.IsEmpty && !lastLabel.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
        {
            Span<byte> address = stackalloc byte[4];
            if (!AddressText.TryParseIPv4(host, address))
            {
                return ConnectUdpPathError.InvalidHost;
            }

            target = new Socks5Address(AddressType.IPv4, address, port);
            return ConnectUdpPathError.None;
        }

        if (!IsDnsName(host))
        {
            return ConnectUdpPathError.InvalidHost;
        }

        target = new Socks5Address(AddressType.DomainName, host, port);
        return ConnectUdpPathError.None;
    }

    private static bool IsDnsName(ReadOnlySpan<byte> name)
    {
        while (true)
        {
            var dot = name.IndexOf((byte)'.');
            var label = dot < 0 ? name : name[..dot];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit((char)c) && c != '-')
                {
                    return false;
                }
            }

            if (dot < 0)
            {
                return true;
            }

            name = name[(dot + 1)..];
        }
    }
}
