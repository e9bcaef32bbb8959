namespace KestrelSocks.Diagnostics;

/// <summary>Why a UDP association ended.</summary>
internal enum UdpAssociationEnd
{
    ControlClosed,
    IdleTimeout,
    Shutdown,
    SocketError,
}
