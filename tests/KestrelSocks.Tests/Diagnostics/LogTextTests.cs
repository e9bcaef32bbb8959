using System.Text;
using KestrelSocks.Diagnostics;
using Xunit;

namespace KestrelSocks.Tests.Diagnostics;

public class LogTextTests
{
    [Fact]
    public void PlainTextIsReturnedAsItIs()
    {
        const string name = "www.example.com";
        Assert.Same(name, LogText.Escape(name));
    }

    [Theory]
    [InlineData("a\nwarn: forged", @"a\nwarn: forged")]
    [InlineData("a\r\nb", @"a\r\nb")]
    [InlineData("\u001b[31mred", @"\x1b[31mred")]
    [InlineData("nul\0end", @"nul\x00end")]
    [InlineData("back\\slash", @"back\\slash")]
    [InlineData("evil\u202egnp.exe", @"evil\u202egnp.exe")]
    [InlineData("line\u2028sep", @"line\u2028sep")]
    [InlineData("del\u007f", @"del\x7f")]
    [InlineData("c1\u0085", @"c1\x85")]
    [InlineData("bücher.de", "bücher.de")]
    public void ControlAndFormatCharactersAreEscaped(string value, string expected)
    {
        Assert.Equal(expected, LogText.Escape(value));
    }

    [Fact]
    public void LongTextIsCutAndItsLengthNoted()
    {
        var value = new string('a', 300);
        Assert.Equal(new string('a', 256) + "…(+44 chars)", LogText.Escape(value));
    }

    [Fact]
    public void LoneSurrogateIsEscaped()
    {
        Assert.Equal(@"x\ud800y", LogText.Escape("x\ud800y"));
    }

    [Fact]
    public void InvalidUtf8BytesAreEscapedOneByOne()
    {
        byte[] bytes = [(byte)'a', 0xFF, 0xC3, (byte)'\n', .. Encoding.UTF8.GetBytes("ü")];
        Assert.Equal(@"a\xff\xc3\nü", LogText.Escape(bytes));
    }

    [Fact]
    public void LongByteTextIsCut()
    {
        var bytes = Enumerable.Repeat((byte)0xFF, 255).ToArray();
        var escaped = LogText.Escape(bytes, maxLength: 4);
        Assert.Equal(@"\xff\xff\xff\xff…(+251 bytes)", escaped);
    }
}
