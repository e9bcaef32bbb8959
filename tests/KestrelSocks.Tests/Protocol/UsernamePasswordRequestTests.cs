using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Protocol;

public sealed class UsernamePasswordRequestTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(255, 255)]
    public void Constructor_0To255Bytes_KeepsBothFields(int usernameLength, int passwordLength)
    {
        var username = Enumerable.Repeat((byte)'u', usernameLength).ToArray();
        var password = Enumerable.Repeat((byte)'p', passwordLength).ToArray();

        var request = new UsernamePasswordRequest(username, password);

        Assert.Equal(username, request.Username.ToArray());
        Assert.Equal(password, request.Password.ToArray());
    }

    [Theory]
    [InlineData(256, 0)]
    [InlineData(0, 256)]
    public void Constructor_Over255Bytes_Throws(int usernameLength, int passwordLength)
    {
        Assert.Throws<ArgumentException>(() => new UsernamePasswordRequest(new byte[usernameLength], new byte[passwordLength]));
    }

    [Fact]
    public void ToString_WithholdsBothValues()
    {
        var request = new UsernamePasswordRequest("alice"u8, "hunter2"u8);

        var text = request.ToString();

        Assert.Equal("UsernamePasswordRequest(5-byte username, password withheld)", text);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
    }
}
