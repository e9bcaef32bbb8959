using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>Sends back every byte it receives; at end of stream it sends FIN too.</summary>
internal sealed class EchoServer : TestTcpServer
{
    private EchoServer(IPAddress address)
        : base(address)
    {
    }

    public static EchoServer Start(IPAddress? address = null)
    {
        var server = new EchoServer(address ?? IPAddress.Loopback);
        server.StartAccepting();
        return server;
    }

    protected override async Task HandleAsync(Socket connection, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var received = await connection.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (received == 0)
            {
                connection.Shutdown(SocketShutdown.Send);
                return;
            }

            await SendAllAsync(connection, buffer.AsMemory(0, received), cancellationToken);
        }
    }
}
