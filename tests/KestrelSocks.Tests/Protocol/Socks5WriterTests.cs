using System.Buffers;
using System.Net;
using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol;

public sealed class Socks5WriterTests
{
    public static TheoryData<string> AddressNames => ["ipv4", "ipv6", "domain", "long-domain", "unspecified-ipv4", "unspecified-ipv6"];

    private static string LongDomain { get; } = new('x', 255);

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x01)]
    [InlineData(0x02)]
    [InlineData(0xFF)]
    public void WriteMethodSelection_WritesVersionAndMethod(byte method)
    {
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteMethodSelection(writer, (AuthMethod)method);

        Assert.Equal([0x05, method], writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x01)]
    [InlineData(0xFF)]
    public void WriteUsernamePasswordStatus_WritesSubnegotiationVersionAndStatus(byte status)
    {
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteUsernamePasswordStatus(writer, status);

        Assert.Equal([0x01, status], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteReply_WithoutAddress_WritesIPv4ZeroAddressAndPort()
    {
        foreach (var code in Enum.GetValues<ReplyCode>())
        {
            var writer = new ArrayBufferWriter<byte>();

            Socks5Writer.WriteReply(writer, code);

            Assert.Equal([0x05, (byte)code, 0x00, 0x01, 0, 0, 0, 0, 0x00, 0x00], writer.WrittenSpan.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(AddressNames))]
    public void WriteReply_WithAddress_WritesHeaderThenAddress(string name)
    {
        var (address, encoded) = GetAddress(name);
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteReply(writer, ReplyCode.Succeeded, address);

        Assert.Equal([0x05, 0x00, 0x00, .. encoded], writer.WrittenSpan.ToArray());
    }

    [Theory]
    [MemberData(nameof(AddressNames))]
    public void WriteRequest_WritesHeaderThenAddress(string name)
    {
        var (address, encoded) = GetAddress(name);
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteRequest(writer, Socks5Command.Bind, address);

        Assert.Equal([0x05, 0x02, 0x00, .. encoded], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteRequest_ExactRfc1928Bytes()
    {
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteRequest(writer, Socks5Command.Connect, Socks5Address.FromDomainName("example.com", 443));

        Assert.Equal(
            [0x05, 0x01, 0x00, 0x03, 0x0B, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0x2E, 0x63, 0x6F, 0x6D, 0x01, 0xBB],
            writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteGreeting_WritesVersionCountAndMethods()
    {
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteGreeting(writer, [AuthMethod.NoAuthentication, AuthMethod.UsernamePassword]);

        Assert.Equal([0x05, 0x02, 0x00, 0x02], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteGreeting_255Methods_WritesThemAll()
    {
        var methods = Enumerable.Range(0, 255).Select(value => (AuthMethod)value).ToArray();
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteGreeting(writer, methods);

        Assert.Equal([0x05, 0xFF, .. Enumerable.Range(0, 255).Select(value => (byte)value)], writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    public void WriteGreeting_NoneOrTooManyMethods_Throws(int count)
    {
        var writer = new ArrayBufferWriter<byte>();

        Assert.Throws<ArgumentOutOfRangeException>("methods", () => Socks5Writer.WriteGreeting(writer, new AuthMethod[count]));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void WriteUsernamePassword_WritesRfc1929Layout()
    {
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteUsernamePassword(writer, "user"u8, "pass"u8);

        Assert.Equal([0x01, 0x04, .. "user"u8, 0x04, .. "pass"u8], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void WriteUsernamePassword_EmptyFields_WritesZeroLengths()
    {
        var writer = new ArrayBufferWriter<byte>();

        Socks5Writer.WriteUsernamePassword(writer, [], []);

        Assert.Equal([0x01, 0x00, 0x00], writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(256, 0)]
    [InlineData(0, 256)]
    public void WriteUsernamePassword_FieldOver255Bytes_Throws(int usernameLength, int passwordLength)
    {
        var writer = new ArrayBufferWriter<byte>();

        Assert.Throws<ArgumentException>(() => Socks5Writer.WriteUsernamePassword(writer, new byte[usernameLength], new byte[passwordLength]));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void Writers_AppendBehindEarlierMessages()
    {
        var writer = new ArrayBufferWriter<byte>(initialCapacity: 1);

        Socks5Writer.WriteMethodSelection(writer, AuthMethod.UsernamePassword);
        Socks5Writer.WriteUsernamePasswordStatus(writer, 0);
        Socks5Writer.WriteReply(writer, ReplyCode.HostUnreachable);

        Assert.Equal([0x05, 0x02, 0x01, 0x00, 0x05, 0x04, 0x00, 0x01, 0, 0, 0, 0, 0, 0], writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void RoundTrip_Greeting()
    {
        AuthMethod[][] lists =
        [
            [AuthMethod.NoAuthentication],
            [AuthMethod.UsernamePassword, AuthMethod.NoAuthentication, AuthMethod.Gssapi],
            [.. Enumerable.Range(1, 255).Select(value => (AuthMethod)value)],
        ];
        foreach (var methods in lists)
        {
            var writer = new ArrayBufferWriter<byte>();
            Socks5Writer.WriteGreeting(writer, methods);

            ParserAssert.ParsesInEveryShape<Greeting>(Socks5Parser.TryParseGreeting, writer.WrittenSpan.ToArray(), greeting =>
            {
                for (var value = 0; value < 256; value++)
                {
                    Assert.Equal(methods.Contains((AuthMethod)value), greeting.Methods.Contains((AuthMethod)value));
                }
            });
        }
    }

    [Fact]
    public void RoundTrip_MethodSelection_EveryMethodByte()
    {
        for (var value = 0; value < 256; value++)
        {
            var writer = new ArrayBufferWriter<byte>();
            Socks5Writer.WriteMethodSelection(writer, (AuthMethod)value);

            ParserAssert.ParsesInEveryShape<AuthMethod>(Socks5Parser.TryParseMethodSelection, writer.WrittenSpan.ToArray(), method => Assert.Equal(value, (int)method));
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(5, 6)]
    [InlineData(255, 255)]
    [InlineData(0, 255)]
    [InlineData(255, 0)]
    public void RoundTrip_UsernamePassword(int usernameLength, int passwordLength)
    {
        var username = Enumerable.Range(0, usernameLength).Select(i => (byte)(i + 1)).ToArray();
        var password = Enumerable.Range(0, passwordLength).Select(i => (byte)~i).ToArray();
        var writer = new ArrayBufferWriter<byte>();
        Socks5Writer.WriteUsernamePassword(writer, username, password);

        ParserAssert.ParsesInEveryShape<UsernamePasswordRequest>(Socks5Parser.TryParseUsernamePassword, writer.WrittenSpan.ToArray(), request =>
        {
            Assert.Equal(username, request.Username.ToArray());
            Assert.Equal(password, request.Password.ToArray());
        });
    }

    [Fact]
    public void RoundTrip_UsernamePasswordStatus_EveryStatusByte()
    {
        for (var value = 0; value < 256; value++)
        {
            var writer = new ArrayBufferWriter<byte>();
            Socks5Writer.WriteUsernamePasswordStatus(writer, (byte)value);

            ParserAssert.ParsesInEveryShape<byte>(Socks5Parser.TryParseUsernamePasswordStatus, writer.WrittenSpan.ToArray(), status => Assert.Equal(value, status));
        }
    }

    [Theory]
    [MemberData(nameof(AddressNames))]
    public void RoundTrip_Request_EveryCommand(string name)
    {
        var (address, _) = GetAddress(name);
        foreach (var command in Enum.GetValues<Socks5Command>())
        {
            var writer = new ArrayBufferWriter<byte>();
            Socks5Writer.WriteRequest(writer, command, address);

            ParserAssert.ParsesInEveryShape<Socks5Request>(Socks5Parser.TryParseRequest, writer.WrittenSpan.ToArray(), request =>
            {
                Assert.Equal((byte)command, request.Command);
                Assert.True(request.IsKnownCommand);
                AssertSameAddress(address, request.Destination);
            });
        }
    }

    [Theory]
    [MemberData(nameof(AddressNames))]
    public void RoundTrip_Reply_EveryReplyCode(string name)
    {
        var (address, _) = GetAddress(name);
        foreach (var code in Enum.GetValues<ReplyCode>())
        {
            var writer = new ArrayBufferWriter<byte>();
            Socks5Writer.WriteReply(writer, code, address);

            ParserAssert.ParsesInEveryShape<Socks5Reply>(Socks5Parser.TryParseReply, writer.WrittenSpan.ToArray(), reply =>
            {
                Assert.Equal(code, reply.Reply);
                AssertSameAddress(address, reply.BoundAddress);
            });
        }
    }

    [Fact]
    public void RoundTrip_ReplyWithoutAddress_ParsesAsUnspecifiedIPv4()
    {
        var writer = new ArrayBufferWriter<byte>();
        Socks5Writer.WriteReply(writer, ReplyCode.ConnectionNotAllowed);

        ParserAssert.ParsesInEveryShape<Socks5Reply>(Socks5Parser.TryParseReply, writer.WrittenSpan.ToArray(), reply =>
        {
            Assert.Equal(ReplyCode.ConnectionNotAllowed, reply.Reply);
            Assert.Equal(AddressType.IPv4, reply.BoundAddress.Type);
            Assert.True(reply.BoundAddress.IsUnspecifiedIP);
            Assert.Equal("0.0.0.0:0", reply.BoundAddress.ToString());
        });
    }

    private static void AssertSameAddress(in Socks5Address expected, in Socks5Address actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.AddressBytes.ToArray(), actual.AddressBytes.ToArray());
        Assert.Equal(expected.Port, actual.Port);
        Assert.Equal(expected.ToString(), actual.ToString());
    }

    private static (Socks5Address Address, byte[] Encoded) GetAddress(string name) => name switch
    {
        "ipv4" => (Socks5Address.FromEndPoint(IPEndPoint.Parse("192.0.2.1:1080")), [0x01, 192, 0, 2, 1, 0x04, 0x38]),
        "ipv6" => (
            Socks5Address.FromEndPoint(IPEndPoint.Parse("[2001:db8::2]:65535")),
            [0x04, 0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xFF, 0xFF]),
        "domain" => (Socks5Address.FromDomainName("proxy.test", 258), [0x03, 10, .. "proxy.test"u8, 0x01, 0x02]),
        "long-domain" => (Socks5Address.FromDomainName(LongDomain, 80), [0x03, 0xFF, .. Enumerable.Repeat((byte)'x', 255), 0x00, 0x50]),
        "unspecified-ipv4" => (Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Any, 0)), [0x01, 0, 0, 0, 0, 0x00, 0x00]),
        "unspecified-ipv6" => (Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.IPv6Any, 0)), [0x04, .. new byte[16], 0x00, 0x00]),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };
}
