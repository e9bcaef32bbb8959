using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace KestrelSocks.Hosting;

/// <summary>The listeners this host configured, with their bound addresses once Kestrel has started (port 0 resolved).</summary>
internal sealed class SocksEndPoints
{
    private readonly List<ListenOptions> _socks = [];
    private readonly List<ListenOptions> _admin = [];

    public IReadOnlyList<IPEndPoint> Socks => [.. _socks.Select(o => o.IPEndPoint!)];

    public IReadOnlyList<IPEndPoint> Admin => [.. _admin.Select(o => o.IPEndPoint!)];

    internal void AddSocks(ListenOptions options) => _socks.Add(options);

    internal void AddAdmin(ListenOptions options) => _admin.Add(options);
}
