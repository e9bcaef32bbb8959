namespace KestrelSocks.Diagnostics;

/// <summary>
/// Running totals of relayed datagrams and bytes for one writer (a relay loop, or the portable engine), read by the
/// metrics when they are collected. Adding to them is four uncontended atomic adds per drain, where a
/// <c>Counter.Add</c> with a tag looks up the tag set in every listener.
/// </summary>
internal sealed class UdpTraffic
{
    private long _upstreamDatagrams;
    private long _upstreamBytes;
    private long _downstreamDatagrams;
    private long _downstreamBytes;

    public long UpstreamDatagrams => Interlocked.Read(ref _upstreamDatagrams);

    public long UpstreamBytes => Interlocked.Read(ref _upstreamBytes);

    public long DownstreamDatagrams => Interlocked.Read(ref _downstreamDatagrams);

    public long DownstreamBytes => Interlocked.Read(ref _downstreamBytes);

    public void Add(long upstreamDatagrams, long upstreamBytes, long downstreamDatagrams, long downstreamBytes)
    {
        if (upstreamDatagrams != 0)
        {
            Interlocked.Add(ref _upstreamDatagrams, upstreamDatagrams);
            Interlocked.Add(ref _upstreamBytes, upstreamBytes);
        }

        if (downstreamDatagrams != 0)
        {
            Interlocked.Add(ref _downstreamDatagrams, downstreamDatagrams);
            Interlocked.Add(ref _downstreamBytes, downstreamBytes);
        }
    }
}
