namespace KestrelSocks.Configuration;

/// <summary>The HTTP endpoint that serves <c>/metrics</c> and <c>/healthz</c>; never exposed through the load balancer.</summary>
internal sealed class AdminOptions
{
    public const string DefaultListen = "127.0.0.1:9464";

    /// <summary>HTTP listeners for metrics and health; an IP endpoint each. Empty means the default.</summary>
    public string[] Listen { get; set; } = [];

    /// <summary>Turns the admin endpoint off entirely.</summary>
    public bool Enabled { get; set; } = true;

    public IReadOnlyList<string> EffectiveListen => Listen.Length == 0 ? [DefaultListen] : Listen;
}
