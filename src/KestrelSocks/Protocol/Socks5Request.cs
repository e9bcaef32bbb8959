namespace KestrelSocks.Protocol;

/// <summary>
/// A request (RFC 1928 section 4). The command stays a raw byte: an unknown command still parses, so the
/// server can answer it with REP 07 instead of dropping the connection.
/// </summary>
internal struct Socks5Request
{
    public byte Command;
    public Socks5Address Destination;

    public readonly bool IsKnownCommand => Command is (byte)Socks5Command.Connect or (byte)Socks5Command.Bind or (byte)Socks5Command.UdpAssociate;
}
