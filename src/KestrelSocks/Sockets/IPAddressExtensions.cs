using System.Net;

namespace KestrelSocks.Sockets;

internal static class IPAddressExtensions
{
    /// <summary>
    /// The IPv4 address behind an IPv4-mapped IPv6 address (what dual-mode sockets report), else the address itself,
    /// so comparisons and replies see one form of each IPv4 address.
    /// </summary>
    public static IPAddress Unmap(this IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
