namespace KestrelSocks.Protocol.ProxyProtocol;

/// <summary>What a PROXY protocol header asks of the receiver.</summary>
internal enum ProxyCommand : byte
{
    /// <summary>
    /// Use the connection's own addresses: a v2 LOCAL header (the balancer's own health check), a v2 header of family
    /// UNSPEC, or a v1 "PROXY UNKNOWN" line.
    /// </summary>
    Local,

    /// <summary>The connection was relayed for the client the header names.</summary>
    Proxy,
}
