using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// Reads until the client's end of stream, then answers with <see cref="ResponseFor(int)"/> and closes: it can only
/// answer if the proxy passed the client's FIN on while keeping the way back open.
/// </summary>
internal sealed class ReplyAfterEofServer : TestTcpServer
{
    private readonly TaskCompletionSource<byte[]> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ReplyAfterEofServer()
        : base(IPAddress.Loopback)
    {
    }

    /// <summary>Everything the first connection received before its end of stream.</summary>
    public Task<byte[]> Received => _received.Task;

    public static ReplyAfterEofServer Start()
    {
        var server = new ReplyAfterEofServer();
        server.StartAccepting();
        return server;
    }

    public static byte[] ResponseFor(int count) => Encoding.ASCII.GetBytes($"received {count} bytes");

    protected override async Task HandleAsync(Socket connection, CancellationToken cancellationToken)
    {
        var received = await ReceiveUntilEndAsync(connection, cancellationToken);
        _received.TrySetResult(received);
        await SendAllAsync(connection, ResponseFor(received.Length), cancellationToken);
        connection.Shutdown(SocketShutdown.Send);
    }
}
