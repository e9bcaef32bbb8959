using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.Protocol;

namespace KestrelSocks.LoadTest.Client;

/// <summary>
/// A minimal SOCKS5 client for load: it waits for each answer like a standard client (no pipelining), and its
/// greeting, credentials and requests are encoded once, so a session costs the generator only its socket calls.
/// With no proxy it connects straight to the destination, so the direct path runs the same code.
/// </summary>
internal sealed class SocksClient
{
    private const int ReplyPrefixLength = 5;

    private readonly ProxySettings? _proxy;
    private readonly byte[] _greeting;
    private readonly byte[]? _credentials;

    public SocksClient(ProxySettings? proxy)
    {
        _proxy = proxy;
        var writer = new ArrayBufferWriter<byte>(16);
        Socks5Writer.WriteGreeting(writer, [proxy?.UsesPassword == true ? AuthMethod.UsernamePassword : AuthMethod.NoAuthentication]);
        _greeting = writer.WrittenSpan.ToArray();
        if (proxy?.Username is { } user)
        {
            writer.Clear();
            Socks5Writer.WriteUsernamePassword(
                writer,
                System.Text.Encoding.UTF8.GetBytes(user),
                System.Text.Encoding.UTF8.GetBytes(proxy.Password ?? string.Empty));
            _credentials = writer.WrittenSpan.ToArray();
        }
    }

    public bool IsDirect => _proxy is null;

    public ProxySettings? Proxy => _proxy;

    /// <summary>Encodes a request once, to be reused for every session to the same destination.</summary>
    public static byte[] EncodeRequest(Socks5Command command, IPEndPoint destination)
    {
        var writer = new ArrayBufferWriter<byte>(32);
        Socks5Writer.WriteRequest(writer, command, Socks5Address.FromEndPoint(destination));
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>A connected tunnel to <paramref name="destination"/>: through the proxy, or straight there when direct.</summary>
    public async ValueTask<Socket> ConnectAsync(IPEndPoint destination, byte[] connectRequest, CancellationToken cancellationToken)
    {
        var remote = _proxy?.EndPoint ?? destination;
        var socket = SocketIo.CreateTcp(remote.AddressFamily);
        try
        {
            await socket.ConnectAsync(remote, cancellationToken);
            if (_proxy is not null)
            {
                await HandshakeAsync(socket, connectRequest, cancellationToken);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Opens a control connection and sends <paramref name="request"/>; returns it with the reply's bound endpoint.</summary>
    public async ValueTask<(Socket Control, IPEndPoint Bound)> RequestAsync(byte[] request, CancellationToken cancellationToken)
    {
        var proxy = _proxy ?? throw new InvalidOperationException("The direct path has no control connection.");
        var socket = SocketIo.CreateTcp(proxy.EndPoint.AddressFamily);
        try
        {
            await socket.ConnectAsync(proxy.EndPoint, cancellationToken);
            var bound = await HandshakeAsync(socket, request, cancellationToken);
            return (socket, bound);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <see cref="ConnectAsync"/> with blocking calls, for a caller on a thread of its own. A socket that has never
    /// been used asynchronously keeps a blocking handle, so its later blocking calls are plain system calls and do not
    /// wait for the runtime's socket event thread. Cancelling closes the socket, which ends a blocked call.
    /// </summary>
    public Socket Connect(IPEndPoint destination, byte[] connectRequest, CancellationToken cancellationToken)
    {
        var remote = _proxy?.EndPoint ?? destination;
        var socket = SocketIo.CreateTcp(remote.AddressFamily);
        try
        {
            using var registration = SocketIo.CloseOnCancel(socket, cancellationToken);
            socket.Connect(remote);
            if (_proxy is not null)
            {
                Handshake(socket, connectRequest);
            }

            cancellationToken.ThrowIfCancellationRequested();
            return socket;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is SocketException or ObjectDisposedException or IOException)
        {
            socket.Dispose();
            throw new OperationCanceledException(cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Method negotiation, optional RFC 1929 login, then the request; returns BND.ADDR/BND.PORT of a success reply.</summary>
    private async ValueTask<IPEndPoint> HandshakeAsync(Socket socket, byte[] request, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Socks5Constants.MaxRequestLength);
        try
        {
            await SocketIo.SendAllAsync(socket, _greeting, cancellationToken);
            await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(0, 2), cancellationToken);
            if (SendsCredentials(buffer))
            {
                await SocketIo.SendAllAsync(socket, _credentials, cancellationToken);
                await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(0, 2), cancellationToken);
                CheckLogin(buffer);
            }

            await SocketIo.SendAllAsync(socket, request, cancellationToken);
            await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(0, ReplyPrefixLength), cancellationToken);
            var length = ReplyLength(buffer);
            await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(ReplyPrefixLength, length - ReplyPrefixLength), cancellationToken);
            return BoundEndPoint(buffer, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary><see cref="HandshakeAsync"/> with blocking calls.</summary>
    private IPEndPoint Handshake(Socket socket, byte[] request)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Socks5Constants.MaxRequestLength);
        try
        {
            SocketIo.SendAll(socket, _greeting);
            SocketIo.ReceiveExact(socket, buffer.AsSpan(0, 2));
            if (SendsCredentials(buffer))
            {
                SocketIo.SendAll(socket, _credentials);
                SocketIo.ReceiveExact(socket, buffer.AsSpan(0, 2));
                CheckLogin(buffer);
            }

            SocketIo.SendAll(socket, request);
            SocketIo.ReceiveExact(socket, buffer.AsSpan(0, ReplyPrefixLength));
            var length = ReplyLength(buffer);
            SocketIo.ReceiveExact(socket, buffer.AsSpan(ReplyPrefixLength, length - ReplyPrefixLength));
            return BoundEndPoint(buffer, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CheckLogin(byte[] answer)
    {
        if (answer[1] != 0)
        {
            throw new SocksException("The proxy refused the username and password.");
        }
    }

    private static int ReplyLength(byte[] prefix)
    {
        return (AddressType)prefix[3] switch
        {
            AddressType.IPv4 => 4 + 4 + 2,
            AddressType.IPv6 => 4 + 16 + 2,
            AddressType.DomainName => 4 + 1 + prefix[4] + 2,
            _ => throw new SocksException($"The proxy's reply has address type {prefix[3]}."),
        };
    }

    /// <summary>Whether the method the proxy selected in its greeting answer needs the RFC 1929 login; throws when it is not the one offered.</summary>
    [MemberNotNullWhen(true, nameof(_credentials))]
    private bool SendsCredentials(byte[] answer)
    {
        if (answer[0] != Socks5Constants.Version)
        {
            throw new SocksException($"The proxy answered the greeting with version {answer[0]}.");
        }

        return (AuthMethod)answer[1] switch
        {
            AuthMethod.NoAuthentication when _credentials is null => false,
            AuthMethod.UsernamePassword when _credentials is not null => true,
            _ => throw new SocksException($"The proxy selected method {answer[1]:X2}."),
        };
    }

    private IPEndPoint BoundEndPoint(byte[] buffer, int length)
    {
        var sequence = new ReadOnlySequence<byte>(buffer, 0, length);
        if (!Socks5Parser.TryParseReply(ref sequence, out var reply))
        {
            throw new SocksException("The proxy's reply could not be parsed.");
        }

        if (reply.Reply != ReplyCode.Succeeded)
        {
            throw new SocksException($"The proxy replied {(byte)reply.Reply:X2} ({reply.Reply}).");
        }

        var address = reply.BoundAddress.Type == AddressType.DomainName || reply.BoundAddress.IsUnspecifiedIP
            ? _proxy!.EndPoint.Address
            : reply.BoundAddress.ToIPAddress();
        return new IPEndPoint(address, reply.BoundAddress.Port);
    }
}
