using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Domain destinations of datagrams, resolved off the receive path and kept for a bounded time (the system
/// resolver does not expose record TTLs, so the bound is the TTL). Lookups take the name as bytes from the
/// datagram and allocate nothing on a hit. Failures are cached briefly too, so a bad name cannot hammer DNS.
/// </summary>
internal sealed class UdpDnsCache
{
    private static readonly TimeSpan _negativeTtl = TimeSpan.FromSeconds(5);
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _ttl;

    public UdpDnsCache(TimeProvider timeProvider, TimeSpan ttl)
    {
        _timeProvider = timeProvider;
        _ttl = ttl;
        _lookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// A cached answer for <paramref name="name"/> if a fresh one exists. Otherwise the pending resolution
    /// (started now if none runs) in <paramref name="resolution"/>.
    /// </summary>
    public bool TryGet(ReadOnlySpan<byte> name, out IPAddress[]? addresses, out Task<IPAddress[]?>? resolution)
    {
        Span<char> chars = stackalloc char[256];
        var length = Encoding.UTF8.GetChars(name, chars);
        var key = chars[..length];
        var now = _timeProvider.GetTimestamp();
        if (_lookup.TryGetValue(key, out var entry))
        {
            if (entry.Resolution.IsCompleted && now < entry.ExpiresAt)
            {
                addresses = entry.Resolution.Result;
                resolution = null;
                return true;
            }

            if (!entry.Resolution.IsCompleted)
            {
                addresses = null;
                resolution = entry.Resolution;
                return false;
            }
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        var host = key.ToString();
        var started = new Entry(ResolveAsync(host), long.MaxValue);
        _entries[host] = started;
        addresses = null;
        resolution = started.Resolution;
        return false;
    }

    private async Task<IPAddress[]?> ResolveAsync(string host)
    {
        // Never complete synchronously: the entry must be in the table before its expiry is written below.
        await Task.Yield();
        IPAddress[]? result;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            result = await Dns.GetHostAddressesAsync(host, AddressFamily.Unspecified, timeout.Token);
            if (result.Length == 0)
            {
                result = null;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ArgumentException)
        {
            result = null;
        }

        var ttl = result is null ? _negativeTtl : _ttl;
        if (_entries.TryGetValue(host, out var current))
        {
            _entries.TryUpdate(host, current with { ExpiresAt = _timeProvider.GetTimestamp() + (long)(ttl.TotalSeconds * _timeProvider.TimestampFrequency) }, current);
        }

        return result;
    }

    private sealed record Entry(Task<IPAddress[]?> Resolution, long ExpiresAt);
}
