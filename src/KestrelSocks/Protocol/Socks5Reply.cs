namespace KestrelSocks.Protocol;

/// <summary>A reply (RFC 1928 section 6): what a client reads after its request.</summary>
internal struct Socks5Reply
{
    public ReplyCode Reply;
    public Socks5Address BoundAddress;
}
