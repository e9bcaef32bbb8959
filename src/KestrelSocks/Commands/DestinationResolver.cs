using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.Protocol;
using KestrelSocks.Sockets;

namespace KestrelSocks.Commands;

/// <summary>
/// The addresses a CONNECT or BIND destination stands for. Every way a name can fail ends in a
/// <see cref="SocketException"/> with a code the reply maps, never in another exception type: a name that is not
/// UTF-8, longer than DNS allows (RFC 1928 allows 255 bytes, DNS 253 characters), or refused by the resolver is a host
/// that cannot be found. A name that is an address in text (<c>127.1</c>, <c>0x7f000001</c>, <c>::1%lo</c>, <c>0</c>) is
/// that address, as the system resolver would read it, and the rules see the address. IPv4-mapped addresses are
/// returned as IPv4: dialled as IPv6 they would fail on a socket that is not dual-mode, and the rules judge the IPv4
/// address either way.
/// </summary>
internal static class DestinationResolver
{
    private static readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <exception cref="SocketException">The name cannot be resolved (<see cref="SocketError.HostNotFound"/> or the resolver's own code).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public static async Task<IPAddress[]> ResolveAsync(Socks5Address destination, CancellationToken cancellationToken)
    {
        if (destination.Type != AddressType.DomainName)
        {
            return [destination.ToIPAddress().Unmap()];
        }

        string host;
        try
        {
            host = _strictUtf8.GetString(destination.AddressBytes);
        }
        catch (DecoderFallbackException)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        if (IPAddress.TryParse(host, out var literal))
        {
            return [literal.Unmap()];
        }

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host, AddressFamily.Unspecified, cancellationToken);
        }
        catch (ArgumentException)
        {
            // Too long for DNS, or a form the resolver will not look up.
            throw new SocketException((int)SocketError.HostNotFound);
        }

        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        for (var i = 0; i < addresses.Length; i++)
        {
            addresses[i] = addresses[i].Unmap();
        }

        return addresses;
    }
}
