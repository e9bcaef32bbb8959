using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>The smallest HTTP/1.1 server a real client such as curl is happy with: one request per connection, a fixed body.</summary>
internal sealed class TestHttpServer : TestTcpServer
{
    public const string Body = "hello through the proxy\n";

    private const int MaxHeaderBytes = 64 * 1024;

    private readonly ConcurrentQueue<string> _requestLines = new();

    private TestHttpServer()
        : base(IPAddress.Loopback)
    {
    }

    /// <summary>The request line of every request served, such as <c>GET /hello HTTP/1.1</c>.</summary>
    public IReadOnlyCollection<string> RequestLines => _requestLines;

    public static TestHttpServer Start()
    {
        var server = new TestHttpServer();
        server.StartAccepting();
        return server;
    }

    protected override async Task HandleAsync(Socket connection, CancellationToken cancellationToken)
    {
        var header = new List<byte>();
        var buffer = new byte[4096];
        while (!EndsWithBlankLine(header))
        {
            var received = await connection.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (received == 0 || header.Count + received > MaxHeaderBytes)
            {
                return;
            }

            header.AddRange(buffer.AsSpan(0, received));
        }

        var text = Encoding.ASCII.GetString([.. header]);
        _requestLines.Enqueue(text[..text.IndexOf("\r\n", StringComparison.Ordinal)]);

        var body = Encoding.ASCII.GetBytes(Body);
        var response = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await SendAllAsync(connection, (byte[])[.. response, .. body], cancellationToken);
        connection.Shutdown(SocketShutdown.Send);
    }

    private static bool EndsWithBlankLine(List<byte> header) =>
        header.Count >= 4 && header[^4] == '\r' && header[^3] == '\n' && header[^2] == '\r' && header[^1] == '\n';
}
