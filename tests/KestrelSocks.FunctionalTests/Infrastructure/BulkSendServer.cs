using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>A destination that sends bytes as fast as it is allowed to, until the connection ends: a download that never finishes.</summary>
internal sealed class BulkSendServer : TestTcpServer
{
    private static readonly byte[] _chunk = new byte[64 * 1024];

    private BulkSendServer()
        : base(IPAddress.Loopback)
    {
    }

    public static BulkSendServer Start()
    {
        var server = new BulkSendServer();
        server.StartAccepting();
        return server;
    }

    protected override async Task HandleAsync(Socket connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            await connection.SendAsync(_chunk, SocketFlags.None, cancellationToken);
        }
    }
}
