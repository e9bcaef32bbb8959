using System.Net;
using KestrelSocks.Configuration;

namespace KestrelSocks.Tests.Configuration;

public sealed class EndPointParserTests
{
    [Theory]
    [InlineData("127.0.0.1:1080", "127.0.0.1", 1080)]
    [InlineData("[::1]:1080", "::1", 1080)]
    [InlineData("0.0.0.0:0", "0.0.0.0", 0)]
    [InlineData("[::]:65535", "::", 65535)]
    [InlineData("  10.0.0.1:1  ", "10.0.0.1", 1)]
    [InlineData("[2001:db8::1]:443", "2001:db8::1", 443)]
    public void TryParse_IPAndPort_Succeeds(string value, string address, int port)
    {
        Assert.True(EndPointParser.TryParse(value, out var endPoint));

        Assert.Equal(IPAddress.Parse(address), endPoint.Address);
        Assert.Equal(port, endPoint.Port);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), EndPointParser.Parse(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\r\n")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData(":1080")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("2001:db8::1")]
    [InlineData("::1:1080")]
    [InlineData("[::1]")]
    [InlineData("[::1]:")]
    [InlineData("[::1]1080")]
    [InlineData("localhost:1080")]
    [InlineData("proxy.example.com:1080")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("127.0.0.1:+80")]
    [InlineData("127.0.0.1: 80")]
    [InlineData("127.0.0.1:80a")]
    [InlineData("[::1]:70000")]
    [InlineData("999.0.0.1:80")]
    public void TryParse_NotAnIPWithAPort_Fails(string? value)
    {
        Assert.False(EndPointParser.TryParse(value, out _));
    }

    [Fact]
    public void Parse_Invalid_ThrowsFormatExceptionNamingTheValue()
    {
        var exception = Assert.Throws<FormatException>(() => EndPointParser.Parse("localhost:1080"));

        Assert.Contains("'localhost:1080'", exception.Message, StringComparison.Ordinal);
    }
}
