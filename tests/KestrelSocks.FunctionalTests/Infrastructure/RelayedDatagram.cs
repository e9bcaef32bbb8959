using System.Net;
using KestrelSocks.Protocol;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>A datagram the relay delivered to the client: the sender its SOCKS5 UDP header names, and the payload behind the header.</summary>
internal sealed record RelayedDatagram(Socks5Address Source, byte[] Payload)
{
    /// <summary>The sender as an endpoint; the relay always names an IP sender, never a domain.</summary>
    public IPEndPoint SourceEndPoint => new(Source.ToIPAddress(), Source.Port);
}
