namespace KestrelSocks.Relay.Udp;

/// <summary>What a drain relayed each way: added up per datagram, counted into the association and the metrics once per drain.</summary>
internal struct UdpTally
{
    public long UpstreamDatagrams;
    public long UpstreamBytes;
    public long DownstreamDatagrams;
    public long DownstreamBytes;

    public readonly long Datagrams => UpstreamDatagrams + DownstreamDatagrams;

    public readonly long Bytes => UpstreamBytes + DownstreamBytes;

    public void Add(bool upstream, long bytes)
    {
        if (upstream)
        {
            UpstreamDatagrams++;
            UpstreamBytes += bytes;
        }
        else
        {
            DownstreamDatagrams++;
            DownstreamBytes += bytes;
        }
    }
}
