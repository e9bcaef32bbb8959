namespace KestrelSocks.Diagnostics;

/// <summary>Why a connection was refused at accept, before any byte was read.</summary>
internal enum ConnectionRejectReason
{
    SessionLimit,
}
