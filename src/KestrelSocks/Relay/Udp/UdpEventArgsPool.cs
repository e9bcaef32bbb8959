using System.Collections.Concurrent;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// A bounded pool of readiness event args. Returned args are reset; past the bound they are disposed, so a burst of
/// associations does not pin memory forever.
/// </summary>
internal sealed class UdpEventArgsPool : IDisposable
{
    private readonly ConcurrentQueue<UdpReadinessEventArgs> _items = new();
    private readonly int _maxPooled;
    private int _count;

    public UdpEventArgsPool(int maxPooled)
    {
        _maxPooled = maxPooled;
    }

    /// <summary>Args out of the pool right now; a test can watch it return to zero.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    private int _outstanding;

    public UdpReadinessEventArgs Rent()
    {
        Interlocked.Increment(ref _outstanding);
        if (_items.TryDequeue(out var args))
        {
            Interlocked.Decrement(ref _count);
            return args;
        }

        return new UdpReadinessEventArgs();
    }

    public void Return(UdpReadinessEventArgs args)
    {
        Interlocked.Decrement(ref _outstanding);
        args.Owner = null;
        args.AcceptSocket = null;
        if (Interlocked.Increment(ref _count) <= _maxPooled)
        {
            _items.Enqueue(args);
            return;
        }

        Interlocked.Decrement(ref _count);
        args.Dispose();
    }

    public void Dispose()
    {
        while (_items.TryDequeue(out var args))
        {
            args.Dispose();
        }
    }
}
