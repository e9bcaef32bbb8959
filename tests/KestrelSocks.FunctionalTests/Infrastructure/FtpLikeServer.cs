using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// Active-mode FTP in miniature, the classic reason for BIND. On its control connection the server reads one line,
/// <c>PORT h1,h2,h3,h4,p1,p2</c>, answers <c>150</c>, connects back to that address, sends <see cref="File"/> on the
/// new connection and ends it with FIN, then answers <c>226 done</c> on the control connection. Anything else gets
/// <c>500</c>. The data connection is closed once the client has closed its end too.
/// </summary>
internal sealed class FtpLikeServer : TestTcpServer
{
    private readonly TaskCompletionSource<IPEndPoint> _dataConnectedFrom = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FtpLikeServer(byte[] file)
        : base(IPAddress.Loopback)
    {
        File = file;
    }

    public byte[] File { get; }

    /// <summary>The local end of the server's data connection: the peer a BIND tunnel sees.</summary>
    public Task<IPEndPoint> DataConnectedFrom => _dataConnectedFrom.Task;

    public static FtpLikeServer Start(byte[] file)
    {
        var server = new FtpLikeServer(file);
        server.StartAccepting();
        return server;
    }

    /// <summary>The PORT command for <paramref name="endPoint"/>: four address bytes and the port as two bytes, comma-separated.</summary>
    public static string PortCommand(IPEndPoint endPoint)
    {
        var address = endPoint.Address.GetAddressBytes();
        return string.Create(CultureInfo.InvariantCulture,
            $"PORT {address[0]},{address[1]},{address[2]},{address[3]},{endPoint.Port >> 8},{endPoint.Port & 0xFF}\r\n");
    }

    protected override async Task HandleAsync(Socket connection, CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(connection, cancellationToken);
        if (line is null || !TryParsePort(line, out var target))
        {
            await SendAllAsync(connection, "500 expected PORT h1,h2,h3,h4,p1,p2\r\n"u8.ToArray(), cancellationToken);
            return;
        }

        await SendAllAsync(connection, "150 opening data connection\r\n"u8.ToArray(), cancellationToken);
        using var data = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await data.ConnectAsync(target, cancellationToken);
        _dataConnectedFrom.TrySetResult((IPEndPoint)data.LocalEndPoint!);
        await SendAllAsync(data, File, cancellationToken);
        data.Shutdown(SocketShutdown.Send);
        await SendAllAsync(connection, "226 done\r\n"u8.ToArray(), cancellationToken);

        // Both ends close cleanly: wait for the client's FIN on the data connection, then on the control connection.
        await ReceiveUntilEndAsync(data, cancellationToken);
        await ReceiveUntilEndAsync(connection, cancellationToken);
    }

    private static bool TryParsePort(string line, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (!line.StartsWith("PORT ", StringComparison.Ordinal))
        {
            return false;
        }

        var parts = line[5..].Split(',');
        var numbers = new byte[6];
        if (parts.Length != 6)
        {
            return false;
        }

        for (var i = 0; i < 6; i++)
        {
            if (!byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return false;
            }
        }

        endPoint = new IPEndPoint(new IPAddress(numbers.AsSpan(0, 4)), (numbers[4] << 8) | numbers[5]);
        return true;
    }

    /// <summary>One CRLF- or LF-terminated line, read a byte at a time so nothing behind it is consumed; null at end of stream.</summary>
    private static async Task<string?> ReadLineAsync(Socket connection, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < 1024)
        {
            if (await connection.ReceiveAsync(one, SocketFlags.None, cancellationToken) == 0)
            {
                return null;
            }

            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }

        return null;
    }
}
