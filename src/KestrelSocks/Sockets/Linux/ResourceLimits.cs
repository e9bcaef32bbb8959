using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace KestrelSocks.Sockets.Linux;

/// <summary>The process's descriptor limit (RLIMIT_NOFILE), and how many descriptors are open now.</summary>
[SupportedOSPlatform("linux")]
internal static partial class ResourceLimits
{
    private const int RlimitNoFile = 7;

    /// <summary>
    /// Raises the soft descriptor limit to the hard one, as servers do at start (systemd and containers often leave a
    /// soft limit of 1,024 under a much higher hard one), and returns the soft limit then in force.
    /// </summary>
    public static long RaiseDescriptorLimit()
    {
        if (getrlimit(RlimitNoFile, out var limit) != 0)
        {
            throw new InvalidOperationException($"getrlimit(RLIMIT_NOFILE) failed with errno {Marshal.GetLastPInvokeError()}.");
        }

        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            if (setrlimit(RlimitNoFile, raised) == 0)
            {
                limit = raised;
            }
        }

        // RLIM_INFINITY is all ones: a budget is a count, and no process can open more than int.MaxValue files.
        return (long)Math.Min(limit.Current, int.MaxValue);
    }

    /// <summary>Descriptors open in this process now.</summary>
    public static int CountOpenDescriptors()
    {
        try
        {
            // The enumeration's own directory handle is one of them.
            return Math.Max(0, Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() - 1);
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);
}
