namespace KestrelSocks.Configuration;

/// <summary>The data plane of CONNECT and BIND tunnels.</summary>
internal sealed class RelayOptions
{
    public RelayMode Mode { get; set; } = RelayMode.Auto;
}
