using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Runtime.CompilerServices;

namespace KestrelSocks.Sockets.Linux;

/// <summary>
/// epoll(7) and eventfd(2), for relay loops that wait on many sockets in one system call. An instance owns one epoll
/// descriptor and one eventfd registered in it, which another thread writes to wake the waiter.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe partial class Epoll : IDisposable
{
    /// <summary>The event data that marks the wake-up eventfd; socket registrations must use other values.</summary>
    public const ulong WakeData = ulong.MaxValue;

    private const int CloseOnExec = 0x80000;
    private const int NonBlock = 0x800;
    private const int ControlAdd = 1;
    private const int ControlDelete = 2;
    private const uint Readable = 0x001;

    // struct epoll_event is packed on x86-64 (12 bytes) and naturally aligned elsewhere (16 bytes).
    private static readonly int _eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int _dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly byte* _events;
    private readonly int _capacity;
    private int _disposed;

    public Epoll(int capacity)
    {
        _capacity = capacity;
        _epoll = epoll_create1(CloseOnExec);
        if (_epoll < 0)
        {
            throw Failure();
        }

        _wake = eventfd(0, CloseOnExec | NonBlock);
        if (_wake < 0)
        {
            var failure = Failure();
            close(_epoll);
            throw failure;
        }

        _events = (byte*)NativeMemory.AllocZeroed((nuint)(capacity * _eventSize));
        Add(_wake, WakeData);
    }

    /// <summary>Watches <paramref name="fd"/> for readability (level-triggered); <paramref name="data"/> comes back with each event.</summary>
    public void Add(int fd, ulong data)
    {
        var ev = stackalloc byte[16];
        *(uint*)ev = Readable;
        *(ulong*)(ev + _dataOffset) = data;
        if (epoll_ctl(_epoll, ControlAdd, fd, ev) != 0)
        {
            throw Failure();
        }
    }

    /// <summary>Stops watching <paramref name="fd"/>; a descriptor already closed is not an error.</summary>
    public void Remove(int fd)
    {
        var ev = stackalloc byte[16];
        _ = epoll_ctl(_epoll, ControlDelete, fd, ev);
    }

    /// <summary>Waits for events, at most <paramref name="timeoutMilliseconds"/> (-1: no limit). Returns how many are ready.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Wait(int timeoutMilliseconds)
    {
        while (true)
        {
            var count = epoll_wait(_epoll, _events, _capacity, timeoutMilliseconds);
            if (count >= 0)
            {
                return count;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.Interrupted)
            {
                throw new SocketException((int)Errno.ToSocketError(errno));
            }
        }
    }

    /// <summary>The data of ready event <paramref name="index"/> of the last <see cref="Wait"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ulong DataAt(int index) => *(ulong*)(_events + (index * _eventSize) + _dataOffset);

    /// <summary>Makes a waiting (or the next) <see cref="Wait"/> return. Any thread.</summary>
    public void Wake()
    {
        ulong one = 1;
        _ = write(_wake, &one, sizeof(ulong));
    }

    /// <summary>Takes the wake-ups written so far, so the eventfd stops reading as ready.</summary>
    public void ResetWake()
    {
        ulong value;
        _ = read(_wake, &value, sizeof(ulong));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        close(_wake);
        close(_epoll);
        NativeMemory.Free(_events);
    }

    private static SocketException Failure() => new((int)Errno.ToSocketError(Marshal.GetLastPInvokeError()));

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, void* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, void* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
