namespace KestrelSocks.LoadTest.Measurement;

/// <summary>CPU seconds the server and the generator spent between <see cref="Start"/> and <see cref="Stop"/>.</summary>
internal sealed class CpuWindow
{
    private readonly int? _serverPid;
    private readonly int _generatorPid = Environment.ProcessId;
    private ProcessSample _serverStart;
    private ProcessSample _generatorStart;

    public CpuWindow(int? serverPid)
    {
        _serverPid = serverPid;
    }

    /// <summary>Server CPU seconds in the window, or null when no server pid was given (or it is this process).</summary>
    public double? ServerSeconds { get; private set; }

    /// <summary>This process's CPU seconds in the window, children included; the in-process targets are part of it.</summary>
    public double GeneratorSeconds { get; private set; }

    public void Start()
    {
        _generatorStart = ProcessTree.Sample(_generatorPid, includeMemory: false);
        if (_serverPid is { } pid)
        {
            _serverStart = ProcessTree.Sample(pid, includeMemory: false);
        }
    }

    public void Stop()
    {
        GeneratorSeconds = ProcessTree.Sample(_generatorPid, includeMemory: false).CpuSeconds - _generatorStart.CpuSeconds;
        if (_serverPid is { } pid && !_serverStart.IsEmpty)
        {
            var end = ProcessTree.Sample(pid, includeMemory: false);
            ServerSeconds = end.IsEmpty ? null : end.CpuSeconds - _serverStart.CpuSeconds;
        }
    }
}
