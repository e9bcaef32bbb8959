using System.Net;

namespace KestrelSocks.LoadTest.Client;

/// <summary>How to reach the SOCKS5 server: its endpoint and, optionally, RFC 1929 credentials.</summary>
internal sealed record ProxySettings(IPEndPoint EndPoint, string? Username, string? Password)
{
    public bool UsesPassword => Username is not null;
}
