namespace KestrelSocks.Diagnostics;

/// <summary>Why a connection ended before its request was answered. Tagged as <c>error.type</c>.</summary>
internal enum HandshakeError
{
    BadVersion,
    NoAcceptableMethod,
    AuthenticationFailed,
    MalformedRequest,
    UnsupportedAddressType,
    Timeout,
    ClientClosed,
    Shutdown,
}
