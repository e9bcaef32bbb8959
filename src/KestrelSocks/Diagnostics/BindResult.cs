namespace KestrelSocks.Diagnostics;

/// <summary>How a BIND ended its wait. Tagged as <c>socks.bind.result</c>.</summary>
internal enum BindResult
{
    Accepted,
    Timeout,
    ClientClosed,
    ListenFailed,
    Shutdown,
}
