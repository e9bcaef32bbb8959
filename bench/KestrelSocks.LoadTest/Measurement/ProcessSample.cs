namespace KestrelSocks.LoadTest.Measurement;

/// <summary>A reading of a process tree from /proc: CPU time (user + system, children included), resident memory, processes.</summary>
internal readonly record struct ProcessSample(double CpuSeconds, long RssBytes, long PssBytes, int Processes)
{
    public bool IsEmpty => Processes == 0;
}
