using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Reads the IP address and port out of a <see cref="SocketAddress"/> without building an <see cref="IPEndPoint"/>,
/// so the per-datagram path allocates nothing. The layout is the native sockaddr: the port is big-endian at offset 2,
/// an IPv4 address at 4, an IPv6 address at 8.
/// </summary>
internal static class SocketAddressCodec
{
    /// <summary>
    /// Copies the address into <paramref name="address"/> (16 bytes of room) and returns its length: 4 for IPv4,
    /// including IPv4-mapped IPv6 addresses from dual-mode sockets, 16 for IPv6, 0 for any other family.
    /// </summary>
    public static int Read(SocketAddress socketAddress, Span<byte> address, out ushort port) =>
        Read(socketAddress.Family, socketAddress.Buffer.Span[..socketAddress.Size], address, out port);

    /// <summary>The same, from the raw sockaddr bytes of a socket of <paramref name="family"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Read(AddressFamily family, ReadOnlySpan<byte> buffer, Span<byte> address, out ushort port)
    {
        port = BinaryPrimitives.ReadUInt16BigEndian(buffer.Slice(2, 2));
        switch (family)
        {
            case AddressFamily.InterNetwork:
                buffer.Slice(4, 4).CopyTo(address);
                return 4;
            case AddressFamily.InterNetworkV6:
                var ipv6 = buffer.Slice(8, 16);
                if (IsIPv4Mapped(ipv6))
                {
                    ipv6.Slice(12, 4).CopyTo(address);
                    return 4;
                }

                ipv6.CopyTo(address);
                return 16;
            default:
                return 0;
        }
    }

    private static bool IsIPv4Mapped(ReadOnlySpan<byte> ipv6) =>
        !ipv6[..10].ContainsAnyExcept((byte)0) && ipv6[10] == 0xFF && ipv6[11] == 0xFF;
}
