namespace KestrelSocks.LoadTest.Targets;

/// <summary>
/// What the generator's client and the in-process bulk target share about one stream: the target's count of
/// bytes received and verified (upload), its stop signal (download) and the verdict. Sharing it in process keeps
/// the wire free of any control traffic and works through proxies that do not keep half-closed connections.
/// </summary>
internal sealed class BulkStream
{
    private readonly TaskCompletionSource _targetDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _targetReceived;
    private long _targetSent;
    private volatile bool _stopRequested;
    private volatile string? _error;

    public BulkStream(long id, BulkDirection direction)
    {
        Id = id;
        Direction = direction;
    }

    public long Id { get; }

    public BulkDirection Direction { get; }

    /// <summary>Bytes the target received, each one checked against the pattern (upload).</summary>
    public long TargetReceived => Volatile.Read(ref _targetReceived);

    /// <summary>Bytes the target sent (download).</summary>
    public long TargetSent => Volatile.Read(ref _targetSent);

    public bool StopRequested => _stopRequested;

    /// <summary>The first fault the target saw, or null.</summary>
    public string? Error => _error;

    /// <summary>Completes when the target has finished with the stream (EOF seen, or stopped and closed).</summary>
    public Task TargetDone => _targetDone.Task;

    public void RequestStop() => _stopRequested = true;

    public void AddReceived(long bytes) => Volatile.Write(ref _targetReceived, _targetReceived + bytes);

    public void AddSent(long bytes) => Volatile.Write(ref _targetSent, _targetSent + bytes);

    public void Fail(string error) => _error ??= error;

    public void Complete() => _targetDone.TrySetResult();
}
