using System.Collections.Concurrent;
using System.Runtime.Versioning;

namespace KestrelSocks.Sockets;

/// <summary>
/// Kernel pipes for splice, shared by every tunnel: a direction takes one while bytes flow and gives it back,
/// empty, before it waits for more. Idle tunnels hold no pipe, so ten thousand of them cost no extra descriptors.
/// Every pipe, pooled or lent, holds two descriptors of the budget; when the budget has no room for a new one, the
/// tunnel copies that chunk through a buffer instead.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SplicePipePool : IDisposable
{
    private readonly ConcurrentQueue<(int Read, int Write)> _pipes = new();
    private readonly int _maxPooled;
    private readonly DescriptorBudget? _budget;
    private int _pooled;
    private int _outstanding;

    public SplicePipePool(int maxPooled, DescriptorBudget? budget = null)
    {
        _maxPooled = maxPooled;
        _budget = budget;
    }

    /// <summary>Idle pipes kept for reuse (two descriptors each).</summary>
    public int Pooled => Volatile.Read(ref _pooled);

    /// <summary>Pipes taken and not yet given back; a leak test watches it return to zero.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>A pipe from the pool, or a new one; false when the budget has no room for a new one or the kernel refuses it.</summary>
    public bool TryRent(out (int Read, int Write) pipe)
    {
        if (_pipes.TryDequeue(out pipe))
        {
            Interlocked.Decrement(ref _pooled);
        }
        else
        {
            if (_budget?.TryTake(2) == false)
            {
                return false;
            }

            try
            {
                pipe = LinuxSplice.CreatePipe();
            }
            catch (System.Net.Sockets.SocketException)
            {
                // EMFILE or ENFILE: the tunnel can still copy.
                _budget?.Return(2);
                return false;
            }
        }

        Interlocked.Increment(ref _outstanding);
        return true;
    }

    /// <summary>Gives a pipe back. <paramref name="isEmpty"/> false (an error mid-move) closes it instead: stale bytes must never reach another tunnel.</summary>
    public void Return((int Read, int Write) pipe, bool isEmpty)
    {
        Interlocked.Decrement(ref _outstanding);
        if (isEmpty && Interlocked.Increment(ref _pooled) <= _maxPooled)
        {
            _pipes.Enqueue(pipe);
            return;
        }

        if (isEmpty)
        {
            Interlocked.Decrement(ref _pooled);
        }

        Close(pipe);
    }

    public void Dispose()
    {
        while (_pipes.TryDequeue(out var pipe))
        {
            Interlocked.Decrement(ref _pooled);
            Close(pipe);
        }
    }

    private void Close((int Read, int Write) pipe)
    {
        LinuxSplice.Close(pipe.Read);
        LinuxSplice.Close(pipe.Write);
        _budget?.Return(2);
    }
}
