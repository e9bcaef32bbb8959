namespace KestrelSocks.LoadTest;

/// <summary>The command-line names of the modes, which are also the names used in reports.</summary>
internal static class LoadModeNames
{
    public static readonly IReadOnlyList<LoadMode> All =
        [LoadMode.TcpBulk, LoadMode.TcpRequestResponse, LoadMode.TcpLatency, LoadMode.TcpFairness, LoadMode.Udp, LoadMode.Idle];

    public static string ToName(LoadMode mode) => mode switch
    {
        LoadMode.TcpBulk => "tcp-bulk",
        LoadMode.TcpRequestResponse => "tcp-rr",
        LoadMode.TcpLatency => "tcp-latency",
        LoadMode.TcpFairness => "tcp-fairness",
        LoadMode.Udp => "udp",
        LoadMode.Idle => "idle",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static bool TryParse(string name, out LoadMode mode)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(ToName(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                mode = candidate;
                return true;
            }
        }

        mode = default;
        return false;
    }
}
