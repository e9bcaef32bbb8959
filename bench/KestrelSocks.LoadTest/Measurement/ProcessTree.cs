using System.Globalization;

namespace KestrelSocks.LoadTest.Measurement;

/// <summary>
/// Reads a process and its descendants from /proc. A server that forks workers (Dante's pool) is measured as the
/// sum over its live tree; a worker that exited and was reaped is still counted through its parent's cutime and
/// cstime. RSS summed over forked processes counts shared pages once per process, so PSS is read too.
/// </summary>
internal static class ProcessTree
{
    private static readonly double _ticksPerSecond = 100.0;

    public static bool IsAlive(int pid) => File.Exists($"/proc/{pid}/stat");

    /// <summary>CPU and, when asked, memory of <paramref name="rootPid"/> and all its descendants; empty when it is gone.</summary>
    public static ProcessSample Sample(int rootPid, bool includeMemory)
    {
        double ticks = 0;
        long rss = 0;
        long pss = 0;
        var count = 0;
        var pending = new Stack<int>();
        pending.Push(rootPid);
        while (pending.Count > 0)
        {
            var pid = pending.Pop();
            if (!TryReadStat(pid, out var cpuTicks, out var rssPages))
            {
                continue;
            }

            count++;
            ticks += cpuTicks;
            if (includeMemory)
            {
                rss += rssPages * Environment.SystemPageSize;
                pss += ReadPss(pid);
            }

            foreach (var child in Children(pid))
            {
                pending.Push(child);
            }
        }

        return new ProcessSample(ticks / _ticksPerSecond, rss, pss, count);
    }

    /// <summary>The soft open-file limit and the files open now, for one process.</summary>
    public static (long Limit, int Open)? OpenFiles(int pid)
    {
        try
        {
            long limit = -1;
            foreach (var line in File.ReadLines($"/proc/{pid}/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    limit = long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : long.MaxValue;
                }
            }

            var open = Directory.GetFiles($"/proc/{pid}/fd").Length;
            return (limit, open);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool TryReadStat(int pid, out long cpuTicks, out long rssPages)
    {
        cpuTicks = 0;
        rssPages = 0;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        // The command name may hold spaces and parentheses: fields are counted from the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        cpuTicks = Field(14) + Field(15) + Field(16) + Field(17);
        rssPages = Field(24);
        return true;
    }

    private static long ReadPss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    var value = line[4..].Trim().Split(' ')[0];
                    return long.Parse(value, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }

    private static List<int> Children(int pid)
    {
        var children = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var text = File.ReadAllText(Path.Combine(task, "children"));
                foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    children.Add(int.Parse(part, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return children;
    }
}
