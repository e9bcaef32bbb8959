using KestrelSocks.Protocol;
using KestrelSocks.Protocol.ConnectUdp;

namespace KestrelSocks.Tests.Protocol.ConnectUdp;

public sealed class ConnectUdpPathTests
{
    private const string Prefix = "/.well-known/masque/udp/";

    // The enums are internal: the theories carry them as numbers.
    public static TheoryData<string, int, string, ushort> Valid => new()
    {
        { "192.0.2.6/443/", (int)AddressType.IPv4, "192.0.2.6", 443 },
        { "0.0.0.0/1/", (int)AddressType.IPv4, "0.0.0.0", 1 },
        { "255.255.255.255/65535/", (int)AddressType.IPv4, "255.255.255.255", 65535 },
        { "2001%3Adb8%3A%3A42/443/", (int)AddressType.IPv6, "2001:db8::42", 443 },
        { "2001%3adb8%3a%3a42/443/", (int)AddressType.IPv6, "2001:db8::42", 443 },
        { "2001:db8::42/443/", (int)AddressType.IPv6, "2001:db8::42", 443 },
        { "%3A%3A1/53/", (int)AddressType.IPv6, "::1", 53 },
        { "%3A%3Affff%3A192.0.2.1/53/", (int)AddressType.IPv6, "::ffff:192.0.2.1", 53 },
        { "FFFF%3AFFFF%3AFFFF%3AFFFF%3AFFFF%3AFFFF%3AFFFF%3AFFFF/9/", (int)AddressType.IPv6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 9 },
        { "example.com/443/", (int)AddressType.DomainName, "example.com", 443 },
        { "Example.COM/443/", (int)AddressType.DomainName, "Example.COM", 443 },
        { "localhost/53/", (int)AddressType.DomainName, "localhost", 53 },
        { "a-b.3com.example/53/", (int)AddressType.DomainName, "a-b.3com.example", 53 },
        { "1.2.3.4.example/53/", (int)AddressType.DomainName, "1.2.3.4.example", 53 },
        { "%65xample.com/443/", (int)AddressType.DomainName, "example.com", 443 },
        { "example.com/%34%34%33/", (int)AddressType.DomainName, "example.com", 443 },
        { $"{new string('a', 63)}.example/1/", (int)AddressType.DomainName, $"{new string('a', 63)}.example", 1 },
        { $"{LongName(255)}/1/", (int)AddressType.DomainName, LongName(255), 1 },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void TryParse_Valid_ReturnsTheTarget(string rest, int type, string host, ushort port)
    {
        Assert.True(ConnectUdpPath.TryParse(Prefix + rest, out var target, out var error), $"{error}");
        Assert.Equal(ConnectUdpPathError.None, error);
        Assert.Equal((AddressType)type, target.Type);
        Assert.Equal(port, target.Port);
        var text = target.Type == AddressType.DomainName ? target.GetHostName() : target.ToIPAddress().ToString();
        Assert.Equal(host, text);
    }

    public static TheoryData<string, int> Invalid => new()
    {
        // Not the template.
        { "", (int)ConnectUdpPathError.NotUdpProxyingPath },
        { "/", (int)ConnectUdpPathError.NotUdpProxyingPath },
        { "/.well-known/masque/udp", (int)ConnectUdpPathError.NotUdpProxyingPath },
        { "/.well-known/masque/ip/192.0.2.6/443/", (int)ConnectUdpPathError.NotUdpProxyingPath },
        { "/.WELL-KNOWN/masque/udp/192.0.2.6/443/", (int)ConnectUdpPathError.NotUdpProxyingPath },
        { "//.well-known/masque/udp/192.0.2.6/443/", (int)ConnectUdpPathError.NotUdpProxyingPath },
        { "/.well-known%2Fmasque/udp/192.0.2.6/443/", (int)ConnectUdpPathError.NotUdpProxyingPath },

        // Missing and extra segments; the template ends with a slash, and so must the path.
        { Prefix, (int)ConnectUdpPathError.MissingSegment },
        { Prefix + "192.0.2.6", (int)ConnectUdpPathError.MissingSegment },
        { Prefix + "192.0.2.6/", (int)ConnectUdpPathError.MissingSegment },
        { Prefix + "192.0.2.6/443", (int)ConnectUdpPathError.MissingSegment },
        { Prefix + "192.0.2.6/443?x=1", (int)ConnectUdpPathError.MissingSegment },
        { Prefix + "192.0.2.6?x=1", (int)ConnectUdpPathError.MissingSegment },
        { Prefix + "192.0.2.6/443//", (int)ConnectUdpPathError.ExtraSegment },
        { Prefix + "192.0.2.6/443/extra/", (int)ConnectUdpPathError.ExtraSegment },
        { Prefix + "192.0.2.6/443/?x=1", (int)ConnectUdpPathError.ExtraSegment },

        // Percent escapes.
        { Prefix + "example.com%/443/", (int)ConnectUdpPathError.InvalidPercentEncoding },
        { Prefix + "example.com%4/443/", (int)ConnectUdpPathError.InvalidPercentEncoding },
        { Prefix + "example%zz.com/443/", (int)ConnectUdpPathError.InvalidPercentEncoding },
        { Prefix + "example%4g.com/443/", (int)ConnectUdpPathError.InvalidPercentEncoding },
        { Prefix + "exämple.com/443/", (int)ConnectUdpPathError.InvalidPercentEncoding },
        { Prefix + "example.com/44%3/", (int)ConnectUdpPathError.InvalidPercentEncoding },

        // Hosts.
        { Prefix + "/443/", (int)ConnectUdpPathError.EmptyHost },
        { Prefix + $"{LongName(256)}/443/", (int)ConnectUdpPathError.HostTooLong },
        { Prefix + $"{LongName(254)}%2E%61/443/", (int)ConnectUdpPathError.HostTooLong },
        { Prefix + $"{new string('a', 64)}.example/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "example..com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + ".example.com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "example.com./443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "-example.com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "example-.com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "exa_mple.com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "exa%20mple.com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "exa%00mple.com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "example.com%2F443/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "ex%C3%A4mple.com/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "192.0.2.256/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "192.0.2.06/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "192.0.2/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "192.0.2.6.7/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "3232235521/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "example.123/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "%5B2001%3Adb8%3A%3A42%5D/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "fe80%3A%3A1%25eth0/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "2001%3Adb8%3A%3A42%3A%3A1/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "1%3A2%3A3%3A4%3A5%3A6%3A7%3A8%3A9/443/", (int)ConnectUdpPathError.InvalidHost },
        { Prefix + "example.com%3A443/443/", (int)ConnectUdpPathError.InvalidHost },

        // Ports.
        { Prefix + "192.0.2.6//", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/0/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/65536/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/99999/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/100000/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/08/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/00443/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/+443/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/-1/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/https/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/44 3/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/443%20/", (int)ConnectUdpPathError.InvalidPort },
        { Prefix + "192.0.2.6/%D9%A3/", (int)ConnectUdpPathError.InvalidPort },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void TryParse_Invalid_ReturnsTheReason(string path, int error)
    {
        Assert.False(ConnectUdpPath.TryParse(path, out var target, out var actual));
        Assert.Equal((ConnectUdpPathError)error, actual);
        Assert.Equal(default(AddressType), target.Type);
    }

    [Fact]
    public void Invalid_CoversEveryError()
    {
        var covered = Invalid.Select(row => (ConnectUdpPathError)(int)row[1]).ToHashSet();
        covered.Add(ConnectUdpPathError.None);
        Assert.Equal(Enum.GetValues<ConnectUdpPathError>().ToHashSet(), covered);
    }

    [Fact]
    public void TryParse_LongestPercentEncodedName_Parses()
    {
        // 255 bytes, every one of them percent-encoded: 765 characters of host.
        var name = LongName(255);
        var encoded = string.Concat(name.Select(c => $"%{(int)c:X2}"));
        Assert.True(ConnectUdpPath.TryParse($"{Prefix}{encoded}/443/", out var target, out _));
        Assert.Equal(name, target.GetHostName());
    }

    [Theory]
    [InlineData("192.0.2.6", 443, "/.well-known/masque/udp/192.0.2.6/443/")]
    [InlineData("2001:db8::42", 443, "/.well-known/masque/udp/2001%3Adb8%3A%3A42/443/")]
    [InlineData("::ffff:192.0.2.1", 53, "/.well-known/masque/udp/%3A%3Affff%3A192.0.2.1/53/")]
    [InlineData("example.com", 65535, "/.well-known/masque/udp/example.com/65535/")]
    public void Format_WritesTheTemplateAndRoundTrips(string host, ushort port, string expected)
    {
        // Built from the bytes: FromEndPoint would unmap ::ffff:192.0.2.1 to IPv4.
        var target = System.Net.IPAddress.TryParse(host, out var address)
            ? new Socks5Address(address.GetAddressBytes().Length == 4 ? AddressType.IPv4 : AddressType.IPv6, address.GetAddressBytes(), port)
            : Socks5Address.FromDomainName(host, port);
        var path = ConnectUdpPath.Format(target);
        Assert.Equal(expected, path);

        Assert.True(ConnectUdpPath.TryParse(path, out var parsed, out _));
        Assert.Equal(target.Type, parsed.Type);
        Assert.Equal(target.Port, parsed.Port);
        Assert.Equal(target.AddressBytes.ToArray(), parsed.AddressBytes.ToArray());
    }

    [Theory]
    [InlineData("exa_mple.com", 443)]
    [InlineData("example.com.", 443)]
    [InlineData("example.com", 0)]
    public void Format_TargetNoPathCanName_Throws(string host, ushort port)
    {
        var target = Socks5Address.FromDomainName(host, port);
        Assert.Throws<ArgumentException>(() => ConnectUdpPath.Format(target));
    }

    /// <summary>
    /// A name of exactly <paramref name="length"/> bytes: labels of 63 letters between dots. Valid up to 255 bytes;
    /// beyond that its last label is too long too, which does not matter, since the length is refused first.
    /// </summary>
    private static string LongName(int length)
    {
        var name = new char[length];
        for (var i = 0; i < length; i++)
        {
            name[i] = i % 64 == 63 && i < length - 1 ? '.' : (char)('a' + (i / 64));
        }

        return new string(name);
    }
}
