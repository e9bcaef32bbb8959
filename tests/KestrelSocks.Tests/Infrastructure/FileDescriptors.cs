using System.Runtime.Versioning;

namespace KestrelSocks.Tests.Infrastructure;

/// <summary>The process's open file descriptors, as <c>/proc/self/fd</c> lists them (Linux only).</summary>
[SupportedOSPlatform("linux")]
internal static class FileDescriptors
{
    private const string Folder = "/proc/self/fd";

    /// <summary>
    /// How many descriptors are open now. Finalizers run first, so a socket an earlier test dropped cannot close
    /// between two counts. The listing's own descriptor is in every count alike.
    /// </summary>
    public static int Count()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Directory.EnumerateFileSystemEntries(Folder).Count();
    }

    /// <summary>How many of the open descriptors are sockets (assemblies the runtime maps meanwhile are not).</summary>
    public static int Sockets()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Directory.EnumerateFileSystemEntries(Folder).Count(static path => new FileInfo(path).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true);
    }

    /// <summary>
    /// What <paramref name="fd"/> refers to (<c>pipe:[1234]</c>, <c>socket:[5678]</c>), or null when it is not open.
    /// A pipe closed and its number reused by something else gives a different target, so comparing targets is safe
    /// where comparing numbers is not.
    /// </summary>
    public static string? Target(int fd)
    {
        try
        {
            return new FileInfo(Path.Combine(Folder, fd.ToString(System.Globalization.CultureInfo.InvariantCulture))).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
