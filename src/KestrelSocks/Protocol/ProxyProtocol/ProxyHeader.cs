using System.Net;

namespace KestrelSocks.Protocol.ProxyProtocol;

/// <summary>
/// A parsed PROXY protocol header (haproxy.org/download/3.0/doc/proxy-protocol.txt). For <see cref="ProxyCommand.Proxy"/>,
/// <see cref="Source"/> is the client the balancer accepted and <see cref="Destination"/> the address it was reached on,
/// both IPv4 or IPv6; for <see cref="ProxyCommand.Local"/> neither is set.
/// </summary>
internal struct ProxyHeader
{
    /// <summary>1 for the text line, 2 for the binary header.</summary>
    public byte Version;

    public ProxyCommand Command;

    public Socks5Address Source;

    public Socks5Address Destination;

    /// <summary>The client's address, or null when the connection's own addresses stand.</summary>
    public readonly IPEndPoint? GetClient() =>
        Command == ProxyCommand.Proxy ? new IPEndPoint(Source.ToIPAddress(), Source.Port) : null;
}
