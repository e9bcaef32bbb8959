using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Protocol;

public sealed class Socks5RequestTests
{
    [Fact]
    public void IsKnownCommand_OnlyForConnectBindAndUdpAssociate()
    {
        for (var command = 0; command < 256; command++)
        {
            var request = new Socks5Request { Command = (byte)command };

            Assert.Equal(command is 0x01 or 0x02 or 0x03, request.IsKnownCommand);
        }
    }
}
