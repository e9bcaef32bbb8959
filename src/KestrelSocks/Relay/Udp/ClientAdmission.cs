using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Sockets;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Who the association's client is: datagrams are taken only from its IP, and from its port once the port is known
/// (declared in the request, or learnt from the first datagram from that IP). The client's own socket address, as
/// the kernel reported it, is kept to send replies to and to recognise the client with one comparison.
/// Used by one thread at a time (the association's owner); <see cref="ReturnAddress"/> may be read from any.
/// </summary>
internal sealed class ClientAdmission
{
    private readonly byte[] _address;
    private int _port;
    private SocketAddress? _returnAddress;

    public ClientAdmission(IPAddress address, int port)
    {
        _address = address.Unmap().GetAddressBytes();
        _port = port;
    }

    /// <summary>Where replies go: null until the client has sent its first datagram.</summary>
    public SocketAddress? ReturnAddress => Volatile.Read(ref _returnAddress);

    /// <summary>
    /// True when <paramref name="sourceName"/> (a native sockaddr from a socket of <paramref name="family"/>) is the
    /// client. The first match fixes the client's port and return address.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool IsClient(AddressFamily family, ReadOnlySpan<byte> sourceName)
    {
        // Only the owner thread writes it, so it reads it without a barrier.
        if (_returnAddress is { } known && sourceName.SequenceEqual(known.Buffer.Span[..known.Size]))
        {
            return true;
        }

        Span<byte> source = stackalloc byte[16];
        var length = SocketAddressCodec.Read(family, sourceName, source, out var port);
        if (!source[..length].SequenceEqual(_address))
        {
            return false;
        }

        if (_port == 0)
        {
            // All-zero DST.PORT in the request: the first datagram from the client's IP names its port.
            _port = port;
        }
        else if (port != _port)
        {
            return false;
        }

        if (_returnAddress is null)
        {
            var copy = new SocketAddress(family, sourceName.Length);
            sourceName.CopyTo(copy.Buffer.Span);
            Volatile.Write(ref _returnAddress, copy);
        }

        return true;
    }
}
