using System.Net;

namespace KestrelSocks.Configuration;

/// <summary>The <c>KestrelSocks</c> configuration section. Defaults are the embedded working configuration.</summary>
internal sealed class KestrelSocksOptions
{
    public const string SectionName = "KestrelSocks";

    /// <summary>The default SOCKS listener, used when <see cref="Listen"/> and the PROXY protocol listeners are all empty.</summary>
    public const string DefaultListen = "127.0.0.1:1080";

    /// <summary>SOCKS listeners, each an IP endpoint such as <c>127.0.0.1:1080</c>, <c>0.0.0.0:1080</c> or <c>[::]:1080</c>.</summary>
    public string[] Listen { get; set; } = [];

    public AdminOptions Admin { get; set; } = new();

    public AuthenticationOptions Authentication { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();

    public ConnectOptions Connect { get; set; } = new();

    public AccessOptions Access { get; set; } = new();

    public BindOptions Bind { get; set; } = new();

    public UdpOptions Udp { get; set; } = new();

    public ProxyProtocolOptions ProxyProtocol { get; set; } = new();

    public RelayOptions Relay { get; set; } = new();

    public TransportOptions Transport { get; set; } = new();

    /// <summary>
    /// Listen with the default applied: a server whose only listeners read the PROXY protocol (a balancer's backend)
    /// gets no plain listener it did not ask for.
    /// </summary>
    public IReadOnlyList<string> EffectiveListen => Listen.Length == 0 && ProxyProtocol.Listen.Length == 0 ? [DefaultListen] : Listen;

    /// <summary>
    /// True when no SOCKS listener can be reached from another host: the defaults of what is risky to expose depend on
    /// it. A PROXY protocol listener counts as exposed, whatever its address: its clients are wherever the balancer's are.
    /// </summary>
    public bool ListensOnLoopbackOnly =>
        ProxyProtocol.Listen.Length == 0
        // A listener that does not parse is reported on its own; it must not add a second error here.
        && EffectiveListen.All(static l => !EndPointParser.TryParse(l, out var endPoint) || IPAddress.IsLoopback(endPoint.Address));

    /// <summary><see cref="AuthenticationOptions.AllowAnonymous"/> with its default applied.</summary>
    public bool EffectiveAllowAnonymous => Authentication.AllowAnonymous ?? ListensOnLoopbackOnly;

    /// <summary><see cref="BindOptions.Enabled"/> with its default applied.</summary>
    public bool EffectiveBindEnabled => Bind.Enabled ?? ListensOnLoopbackOnly;
}
