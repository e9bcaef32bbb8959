namespace KestrelSocks.LoadTest;

/// <summary>Which paths a run measures: straight to the loopback targets, through the proxy, or both (the default).</summary>
internal enum TargetSelection
{
    Both,
    Direct,
    Proxy,
}
