using System.Text;
using KestrelSocks.Access;

namespace KestrelSocks.Tests.Access;

public sealed class DomainPatternTests
{
    [Theory]
    [InlineData("example.com", "example.com", true)]
    [InlineData("example.com", "Example.COM", true)]
    [InlineData("example.com", "example.co", false)]
    [InlineData("example.com", "xample.com", false)]
    [InlineData("example.com", "a.example.com", false)]
    [InlineData("EXAMPLE.com.", "example.com", true)]
    [InlineData(".example.com", "example.com", true)]
    [InlineData(".example.com", "www.example.com", true)]
    [InlineData(".example.com", "notexample.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "a.b.example.com", true)]
    [InlineData("*.example.com", "a.example.com.evil", false)]
    [InlineData("*", "x", true)]
    [InlineData("xn--bcher-kva.example", "XN--BCHER-KVA.example", true)]
    public void Matches(string pattern, string domain, bool matches)
    {
        var parsed = DomainPattern.Parse(pattern, out var error);

        Assert.Null(error);
        Assert.Equal(matches, parsed!.Matches(Encoding.UTF8.GetBytes(domain)));
    }

    [Fact]
    public void NonAsciiBytesOnTheWire_NeverMatchAnAsciiPattern()
    {
        var pattern = DomainPattern.Parse("bcher.example", out _)!;

        Assert.False(pattern.Matches("b\u00fccher.example"u8));
        Assert.False(pattern.Matches([0x62, 0xFF, 0x63, 0x68, 0x65, 0x72]));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("*.")]
    [InlineData("**.example.com")]
    [InlineData("www.*.example.com")]
    [InlineData("a..example")]
    [InlineData("bücher.example")]
    [InlineData("exa mple.com")]
    [InlineData("example.com/path")]
    public void Parse_RefusesWhatIsNotAPattern(string pattern)
    {
        Assert.Null(DomainPattern.Parse(pattern, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
