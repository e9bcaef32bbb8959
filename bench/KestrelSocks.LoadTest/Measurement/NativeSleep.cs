using System.Runtime.InteropServices;

namespace KestrelSocks.LoadTest.Measurement;

/// <summary>
/// Sub-millisecond sleeps for the UDP pacers. Thread.Sleep(1) lasts about 1.1 ms on Linux, which would send
/// 150 datagrams per burst at 150,000/s; usleep(50) wakes every ~100 µs, so bursts stay small without spinning.
/// </summary>
internal static partial class NativeSleep
{
    public static void Microseconds(int microseconds)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            _ = usleep((uint)microseconds);
        }
        else
        {
            Thread.Sleep(1);
        }
    }

    [DllImport("libc", SetLastError = false)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code; one blittable argument needs no marshalling.
    private static extern int usleep(uint microseconds);
#pragma warning restore SYSLIB1054
}
