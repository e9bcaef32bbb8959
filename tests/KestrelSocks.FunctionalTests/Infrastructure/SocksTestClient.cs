using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.Protocol;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A deliberately plain SOCKS5 client on a raw socket. Each step (greeting, authentication, request, reply) is its own
/// call and any bytes can be sent at any point, so a test scripts exactly what a good or a broken client does. Bytes
/// that arrive behind a parsed message stay buffered and are returned by the next read. Every operation is bounded
/// by <see cref="TestTimeouts.Default"/>.
/// </summary>
internal sealed class SocksTestClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _count;

    private SocksTestClient(Socket socket)
    {
        _socket = socket;
    }

    /// <summary>Opens a TCP connection to the proxy and sends nothing.</summary>
    public static Task<SocksTestClient> ConnectAsync(IPEndPoint proxy) => ConnectAsync(proxy, localAddress: null);

    /// <summary>Connects from <paramref name="localAddress"/> (such as 127.0.0.2, so the proxy sees another client address).</summary>
    public static async Task<SocksTestClient> ConnectAsync(IPEndPoint proxy, IPAddress? localAddress)
    {
        var socket = new Socket(proxy.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (localAddress is not null)
            {
                socket.Bind(new IPEndPoint(localAddress, 0));
            }

            using var timeout = new CancellationTokenSource(TestTimeouts.Default);
            await socket.ConnectAsync(proxy, timeout.Token);
            return new SocksTestClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Greeting without authentication, then CONNECT; asserts that both succeed.</summary>
    public static async Task<SocksTestClient> OpenTunnelAsync(IPEndPoint proxy, IPEndPoint destination)
    {
        var client = await ConnectAsync(proxy);
        try
        {
            Assert.Equal(AuthMethod.NoAuthentication, await client.GreetAsync(AuthMethod.NoAuthentication));
            var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint(destination));
            Assert.Equal(ReplyCode.Succeeded, reply.Reply);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public static byte[] Greeting(params AuthMethod[] methods) => Write(writer => Socks5Writer.WriteGreeting(writer, methods));

    public static byte[] Credentials(string username, string password) =>
        Write(writer => Socks5Writer.WriteUsernamePassword(writer, Encoding.UTF8.GetBytes(username), Encoding.UTF8.GetBytes(password)));

    public static byte[] Request(Socks5Command command, Socks5Address destination) =>
        Write(writer => Socks5Writer.WriteRequest(writer, command, destination));

    /// <summary>Sends raw bytes, whatever they are.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        try
        {
            while (!bytes.IsEmpty)
            {
                var sent = await _socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
                bytes = bytes[sent..];
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"Could not send within {TestTimeouts.Default}: the proxy stopped reading.");
        }
    }

    public Task SendAsync(string ascii) => SendAsync(Encoding.ASCII.GetBytes(ascii));

    /// <summary>Sends a greeting offering <paramref name="methods"/> and returns the method the server selected.</summary>
    public async Task<AuthMethod> GreetAsync(params AuthMethod[] methods)
    {
        await SendAsync(Greeting(methods));
        return await ReadMethodSelectionAsync();
    }

    /// <summary>Sends RFC 1929 credentials and returns the status byte (0 is success).</summary>
    public async Task<byte> AuthenticateAsync(string username, string password)
    {
        await SendAsync(Credentials(username, password));
        return await ReadAuthenticationStatusAsync();
    }

    /// <summary>Sends a request and returns the reply. <paramref name="command"/> may be any byte, cast.</summary>
    public async Task<Socks5Reply> RequestAsync(Socks5Command command, Socks5Address destination)
    {
        await SendAsync(Request(command, destination));
        return await ReadReplyAsync();
    }

    public Task<AuthMethod> ReadMethodSelectionAsync() => ReadMessageAsync<AuthMethod>(Socks5Parser.TryParseMethodSelection);

    public Task<byte> ReadAuthenticationStatusAsync() => ReadMessageAsync<byte>(Socks5Parser.TryParseUsernamePasswordStatus);

    public Task<Socks5Reply> ReadReplyAsync() => ReadMessageAsync<Socks5Reply>(Socks5Parser.TryParseReply);

    /// <summary>Reads exactly <paramref name="count"/> bytes; fails if the connection ends first.</summary>
    public async Task<byte[]> ReceiveExactlyAsync(int count)
    {
        var result = new byte[count];
        await ReceiveExactlyAsync(result);
        return result;
    }

    public async Task ReceiveExactlyAsync(Memory<byte> destination)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        var filled = 0;
        while (filled < destination.Length)
        {
            var received = await ReceiveAsync(destination[filled..], timeout);
            if (received == 0)
            {
                throw new EndOfStreamException($"The connection ended after {filled} of {destination.Length} expected bytes.");
            }

            filled += received;
        }
    }

    /// <summary>Reads until the peer closes (FIN or RST) and returns what came before the end.</summary>
    public async Task<ConnectionEnd> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TestTimeouts.Default);
        var data = new List<byte>();
        var chunk = new byte[4096];
        while (true)
        {
            int received;
            try
            {
                received = await ReceiveAsync(chunk, deadline);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                return new ConnectionEnd([.. data], WasReset: true);
            }

            if (received == 0)
            {
                return new ConnectionEnd([.. data], WasReset: false);
            }

            data.AddRange(chunk.AsSpan(0, received));
        }
    }

    /// <summary>
    /// Asserts that a new connection is refused at accept: reset, either at connect (the reset can overtake the
    /// client's own view of its connect) or after it, with no byte of reply to a greeting.
    /// </summary>
    public static async Task AssertRefusedAtAcceptAsync(IPEndPoint proxy, IPAddress? source = null)
    {
        SocksTestClient client;
        try
        {
            client = await ConnectAsync(proxy, source);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return;
        }

        await using (client)
        {
            try
            {
                await client.SendAsync(Greeting(AuthMethod.NoAuthentication));
            }
            catch (SocketException)
            {
                // Reset before the bytes left.
            }

            await client.AssertClosedWithoutReplyAsync();
        }
    }

    /// <summary>Asserts that the server closes the connection without sending one more byte.</summary>
    public async Task AssertClosedWithoutReplyAsync(TimeSpan? timeout = null)
    {
        var end = await ReadUntilClosedAsync(timeout);
        Assert.True(end.Data.Length == 0, $"Expected no reply, got {Convert.ToHexString(end.Data)}.");
    }

    /// <summary>The raw socket, for tests that need its addresses or options.</summary>
    public Socket Socket => _socket;

    /// <summary>Sends FIN: the proxy sees end of stream while this side keeps reading.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes with RST, the way a crashing client would.</summary>
    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    private static byte[] Write(Action<ArrayBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return writer.WrittenSpan.ToArray();
    }

    private async Task<T> ReadMessageAsync<T>(MessageParser<T> parser)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            if (TryParseBuffered(parser, out var message))
            {
                return message;
            }

            if (await FillAsync(timeout) == 0)
            {
                throw new EndOfStreamException(
                    $"The proxy closed the connection before a whole {typeof(T).Name} arrived (had {Convert.ToHexString(_buffer, _start, _count)}).");
            }
        }
    }

    private bool TryParseBuffered<T>(MessageParser<T> parser, out T message)
    {
        var sequence = new ReadOnlySequence<byte>(_buffer, _start, _count);
        if (!parser(ref sequence, out message))
        {
            return false;
        }

        var consumed = _count - (int)sequence.Length;
        _start += consumed;
        _count -= consumed;
        return true;
    }

    /// <summary>Takes buffered bytes first, then reads the socket.</summary>
    private async ValueTask<int> ReceiveAsync(Memory<byte> destination, CancellationTokenSource timeout)
    {
        if (_count == 0 && await FillAsync(timeout) == 0)
        {
            return 0;
        }

        var length = Math.Min(_count, destination.Length);
        _buffer.AsMemory(_start, length).CopyTo(destination);
        _start += length;
        _count -= length;
        return length;
    }

    private async ValueTask<int> FillAsync(CancellationTokenSource timeout)
    {
        if (_count == 0)
        {
            _start = 0;
        }
        else if (_start + _count == _buffer.Length)
        {
            var larger = new byte[_start == 0 ? _buffer.Length * 2 : _buffer.Length];
            Buffer.BlockCopy(_buffer, _start, larger, 0, _count);
            _buffer = larger;
            _start = 0;
        }

        try
        {
            var received = await _socket.ReceiveAsync(_buffer.AsMemory(_start + _count), SocketFlags.None, timeout.Token);
            _count += received;
            return received;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException("Nothing more arrived from the proxy before the deadline.");
        }
    }
}
