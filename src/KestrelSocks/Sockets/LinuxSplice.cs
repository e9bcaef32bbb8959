using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using KestrelSocks.Sockets.Linux;

namespace KestrelSocks.Sockets;

/// <summary>
/// splice(2) and pipe2(2): moving bytes socket → pipe → socket inside the kernel, without copying them through
/// user memory. Linux only.
/// </summary>
internal static unsafe partial class LinuxSplice
{
    private const uint SpliceMove = 1;
    private const uint SpliceNonBlock = 2;
    private const int OpenNonBlock = 0x800;
    private const int OpenCloseOnExec = 0x80000;

    private static readonly Lazy<bool> _isSupported = new(Probe);

    /// <summary>True where pipes can be made and splice exists (checked once by making a pipe).</summary>
    [SupportedOSPlatformGuard("linux")]
    public static bool IsSupported => OperatingSystem.IsLinux() && _isSupported.Value;

    /// <summary>Creates a non-blocking pipe: (read end, write end).</summary>
    [SupportedOSPlatform("linux")]
    public static (int Read, int Write) CreatePipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, OpenNonBlock | OpenCloseOnExec) != 0)
        {
            throw new SocketException((int)SocketError.TooManyOpenSockets);
        }

        return (fds[0], fds[1]);
    }

    [SupportedOSPlatform("linux")]
    public static void Close(int fd) => close(fd);

    /// <summary>
    /// Moves up to <paramref name="length"/> bytes. Returns the count moved, 0 at end of stream, or -1 when the
    /// move would block (source empty or destination full). Throws <see cref="SocketException"/> on failure.
    /// </summary>
    [SupportedOSPlatform("linux")]
    public static int Move(int from, int to, int length)
    {
        var moved = splice(from, null, to, null, (nuint)length, SpliceMove | SpliceNonBlock);
        if (moved >= 0)
        {
            return (int)moved;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Errno.Again)
        {
            return -1;
        }

        throw new SocketException((int)(errno switch
        {
            Errno.ConnectionReset => SocketError.ConnectionReset,
            Errno.BrokenPipe => SocketError.Shutdown,
            _ => SocketError.SocketError,
        }));
    }

    /// <summary>Reads what a pipe holds into <paramref name="buffer"/>; -1 when it is empty.</summary>
    [SupportedOSPlatform("linux")]
    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* pointer = buffer)
        {
            var read = read_(fd, pointer, (nuint)buffer.Length);
            return read >= 0 ? (int)read : -1;
        }
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            var (read, write) = CreatePipe();
            close(read);
            close(write);
            return true;
        }
        catch (Exception e) when (e is SocketException or DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint len, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint read_(int fd, byte* buffer, nuint count);
}
