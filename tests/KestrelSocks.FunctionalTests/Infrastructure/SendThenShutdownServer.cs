using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// Sends <see cref="Greeting"/>, shuts down its sending side (FIN) at once, and then keeps reading until the client's
/// end of stream. Having sent FIN it can no longer answer, so what it received is reported through
/// <see cref="Received"/> instead.
/// </summary>
internal sealed class SendThenShutdownServer : TestTcpServer
{
    private readonly TaskCompletionSource<byte[]> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SendThenShutdownServer()
        : base(IPAddress.Loopback)
    {
    }

    public static byte[] Greeting { get; } = "hello from a destination that is done talking"u8.ToArray();

    /// <summary>Everything the first connection received after the server's FIN, up to the client's.</summary>
    public Task<byte[]> Received => _received.Task;

    public static SendThenShutdownServer Start()
    {
        var server = new SendThenShutdownServer();
        server.StartAccepting();
        return server;
    }

    protected override async Task HandleAsync(Socket connection, CancellationToken cancellationToken)
    {
        await SendAllAsync(connection, Greeting, cancellationToken);
        connection.Shutdown(SocketShutdown.Send);
        _received.TrySetResult(await ReceiveUntilEndAsync(connection, cancellationToken));
    }
}
