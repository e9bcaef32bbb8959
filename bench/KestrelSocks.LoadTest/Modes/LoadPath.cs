using KestrelSocks.LoadTest.Client;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>One way to the targets: straight there (direct) or through the proxy, with the name reports use.</summary>
internal sealed record LoadPath(string Name, SocksClient Client)
{
    public const string DirectName = "direct";

    public bool IsDirect => Client.IsDirect;
}
