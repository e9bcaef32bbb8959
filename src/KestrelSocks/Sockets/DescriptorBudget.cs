using KestrelSocks.Configuration;
using KestrelSocks.Sockets.Linux;

namespace KestrelSocks.Sockets;

/// <summary>
/// The file descriptors sessions, upstream sockets, BIND listeners, UDP associations and splice pipes may hold at
/// once: the process limit less a reserve for the admin endpoint, logs, DNS and the runtime. Work that would pass it
/// is refused with the protocol's answer and counted; without it, a client that opens enough associations takes the
/// last descriptor, and the runtime, unable to start a thread or accept a scrape, takes the process down.
/// </summary>
internal sealed class DescriptorBudget
{
    private int _inUse;

    public DescriptorBudget(int capacity, long processLimit, int reserve, int openAtStart)
    {
        Capacity = Math.Max(0, capacity);
        ProcessLimit = processLimit;
        Reserve = reserve;
        OpenAtStart = openAtStart;
    }

    /// <summary>Descriptors work may hold at once.</summary>
    public int Capacity { get; }

    /// <summary>RLIMIT_NOFILE as raised at start, or 0 where the platform has none.</summary>
    public long ProcessLimit { get; }

    /// <summary>Kept back from <see cref="ProcessLimit"/> for what is not counted here.</summary>
    public int Reserve { get; }

    /// <summary>Open when the budget was set: listeners, the runtime's own.</summary>
    public int OpenAtStart { get; }

    public int InUse => Volatile.Read(ref _inUse);

    /// <summary>Takes <paramref name="count"/> descriptors, or nothing and false when that would pass the capacity.</summary>
    public bool TryTake(int count)
    {
        var inUse = Volatile.Read(ref _inUse);
        while (true)
        {
            if (inUse > Capacity - count)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _inUse, inUse + count, inUse);
            if (seen == inUse)
            {
                return true;
            }

            inUse = seen;
        }
    }

    public void Return(int count) => Interlocked.Add(ref _inUse, -count);

    /// <summary>
    /// The budget of this process: <c>Limits:MaxDescriptors</c> when set, else the raised RLIMIT_NOFILE (Linux) less
    /// what is open now and the reserve.
    /// </summary>
    public static DescriptorBudget Create(LimitsOptions limits)
    {
        long processLimit = 0;
        var open = 0;
        if (OperatingSystem.IsLinux())
        {
            processLimit = ResourceLimits.RaiseDescriptorLimit();
            open = ResourceLimits.CountOpenDescriptors();
        }

        var available = limits.MaxDescriptors > 0 ? limits.MaxDescriptors : processLimit > 0 ? processLimit : int.MaxValue;
        var reserve = limits.ReservedDescriptors >= 0 ? limits.ReservedDescriptors : DefaultReserve(available);
        var capacity = (int)Math.Clamp(available - open - reserve, 0, int.MaxValue);
        return new DescriptorBudget(capacity, processLimit, reserve, open);
    }

    /// <summary>A twentieth of the limit, at least 128 and at most 4,096: room for admin scrapes, DNS lookups in flight and the runtime's threads.</summary>
    internal static int DefaultReserve(long available) => (int)Math.Clamp(available / 20, 128, 4096);
}
