namespace KestrelSocks.LoadTest;

/// <summary>The kinds of load the generator offers.</summary>
internal enum LoadMode
{
    TcpBulk,
    TcpRequestResponse,
    TcpLatency,
    TcpFairness,
    Udp,
    Idle,
}
