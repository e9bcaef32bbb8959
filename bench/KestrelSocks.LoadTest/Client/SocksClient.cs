using System.Buffers;
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

    /// <summary>Method negotiation, optional RFC 1929 login, then the request; returns BND.ADDR/BND.PORT of a success reply.</summary>
    private async ValueTask<IPEndPoint> HandshakeAsync(Socket socket, byte[] request, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Socks5Constants.MaxRequestLength);
        try
        {
            await SocketIo.SendAllAsync(socket, _greeting, cancellationToken);
            await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(0, 2), cancellationToken);
            if (buffer[0] != Socks5Constants.Version)
            {
                throw new SocksException($"The proxy answered the greeting with version {buffer[0]}.");
            }

            switch ((AuthMethod)buffer[1])
            {
                case AuthMethod.NoAuthentication when _credentials is null:
                    break;
                case AuthMethod.UsernamePassword when _credentials is not null:
                    await SocketIo.SendAllAsync(socket, _credentials, cancellationToken);
                    await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(0, 2), cancellationToken);
                    if (buffer[1] != 0)
                    {
                        throw new SocksException("The proxy refused the username and password.");
                    }

                    break;
                default:
                    throw new SocksException($"The proxy selected method {buffer[1]:X2}.");
            }

            await SocketIo.SendAllAsync(socket, request, cancellationToken);
            await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(0, ReplyPrefixLength), cancellationToken);
            var length = (AddressType)buffer[3] switch
            {
                AddressType.IPv4 => 4 + 4 + 2,
                AddressType.IPv6 => 4 + 16 + 2,
                AddressType.DomainName => 4 + 1 + buffer[4] + 2,
                _ => throw new SocksException($"The proxy's reply has address type {buffer[3]}."),
            };
            await SocketIo.ReceiveExactAsync(socket, buffer.AsMemory(ReplyPrefixLength, length - ReplyPrefixLength), cancellationToken);
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
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
