using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace KestrelSocks.Hosting;

/// <summary>The listeners this host configured, with their bound addresses once Kestrel has started (port 0 resolved).</summary>
internal sealed class SocksEndPoints
{
    private readonly List<(ListenOptions Options, bool ProxyProtocol)> _socks = [];
    private readonly List<ListenOptions> _admin = [];

    /// <summary>Every SOCKS listener, those that read the PROXY protocol included.</summary>
    public IReadOnlyList<IPEndPoint> Socks => [.. _socks.Select(static l => l.Options.IPEndPoint!)];

    /// <summary>The SOCKS listeners on which every connection starts with a PROXY protocol header.</summary>
    public IReadOnlyList<IPEndPoint> ProxyProtocol => [.. _socks.Where(static l => l.ProxyProtocol).Select(static l => l.Options.IPEndPoint!)];

    public IReadOnlyList<IPEndPoint> Admin => [.. _admin.Select(static o => o.IPEndPoint!)];

    internal void AddSocks(ListenOptions options, bool proxyProtocol) => _socks.Add((options, proxyProtocol));

    internal void AddAdmin(ListenOptions options) => _admin.Add(options);
}
