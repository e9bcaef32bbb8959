using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Protocol;

public sealed class Socks5ProtocolExceptionTests
{
    [Fact]
    public void EveryError_HasItsOwnMessage()
    {
        var messages = new HashSet<string>(StringComparer.Ordinal);
        foreach (var error in Enum.GetValues<Socks5Error>())
        {
            var exception = new Socks5ProtocolException(error);

            Assert.Equal(error, exception.Error);
            Assert.NotEqual(error.ToString(), exception.Message);
            Assert.True(messages.Add(exception.Message), $"{error} shares its message with another error.");
        }
    }

    [Fact]
    public void Throw_ThrowsWithTheError()
    {
        var exception = Assert.Throws<Socks5ProtocolException>(() => Socks5ProtocolException.Throw(Socks5Error.InvalidReserved));

        Assert.Equal(Socks5Error.InvalidReserved, exception.Error);
    }
}
