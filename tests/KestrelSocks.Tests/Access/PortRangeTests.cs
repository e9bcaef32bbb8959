using KestrelSocks.Access;

namespace KestrelSocks.Tests.Access;

public sealed class PortRangeTests
{
    [Theory]
    [InlineData("443", 443, 443)]
    [InlineData("0", 0, 0)]
    [InlineData("65535", 65535, 65535)]
    [InlineData("8000-8999", 8000, 8999)]
    [InlineData(" 1 - 1024 ", 1, 1024)]
    [InlineData("22-22", 22, 22)]
    public void TryParse_PortsAndRanges(string text, int first, int last)
    {
        Assert.True(PortRange.TryParse(text, out var range));
        Assert.Equal(new PortRange((ushort)first, (ushort)last), range);
    }

    [Theory]
    [InlineData("")]
    [InlineData("70000")]
    [InlineData("65536")]
    [InlineData("-1")]
    [InlineData("+80")]
    [InlineData("80-")]
    [InlineData("-80")]
    [InlineData("9000-8000")]
    [InlineData("80,443")]
    [InlineData("http")]
    [InlineData("1-2-3")]
    public void TryParse_RefusesTheRest(string text) => Assert.False(PortRange.TryParse(text, out _));

    [Fact]
    public void Contains_IncludesBothEnds()
    {
        var range = new PortRange(8000, 8999);

        Assert.False(range.Contains(7999));
        Assert.True(range.Contains(8000));
        Assert.True(range.Contains(8999));
        Assert.False(range.Contains(9000));
    }
}
