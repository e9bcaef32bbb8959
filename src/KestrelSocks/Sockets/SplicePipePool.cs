using System.Collections.Concurrent;
using System.Runtime.Versioning;

namespace KestrelSocks.Sockets;

/// <summary>
/// Kernel pipes for splice, shared by every tunnel: a direction takes one while bytes flow and gives it back,
/// empty, before it waits for more. Idle tunnels hold no pipe, so ten thousand of them cost no extra descriptors.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SplicePipePool : IDisposable
{
    private readonly ConcurrentQueue<(int Read, int Write)> _pipes = new();
    private readonly int _maxPooled;
    private int _pooled;
    private int _outstanding;

    public SplicePipePool(int maxPooled)
    {
        _maxPooled = maxPooled;
    }

    /// <summary>Idle pipes kept for reuse (two descriptors each).</summary>
    public int Pooled => Volatile.Read(ref _pooled);

    /// <summary>Pipes taken and not yet given back; a leak test watches it return to zero.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public (int Read, int Write) Rent()
    {
        if (_pipes.TryDequeue(out var pipe))
        {
            Interlocked.Decrement(ref _pooled);
        }
        else
        {
            pipe = LinuxSplice.CreatePipe();
        }

        Interlocked.Increment(ref _outstanding);
        return pipe;
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

        LinuxSplice.Close(pipe.Read);
        LinuxSplice.Close(pipe.Write);
    }

    public void Dispose()
    {
        while (_pipes.TryDequeue(out var pipe))
        {
            LinuxSplice.Close(pipe.Read);
            LinuxSplice.Close(pipe.Write);
        }
    }
}
