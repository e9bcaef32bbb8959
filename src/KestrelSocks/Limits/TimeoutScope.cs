namespace KestrelSocks.Limits;

/// <summary>
/// A token that fires after a timeout measured on the host's <see cref="TimeProvider"/>, or when another token fires:
/// <c>CreateLinkedTokenSource</c> plus <c>CancelAfter</c>, but on a clock a test can move. Tell the two apart with
/// <see cref="TimedOut"/>. The same objects as the pair it replaces: one source, one timer, one registration.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable",
    Justification = "It implements IDisposable and disposes both fields; the rule reports the struct all the same.")]
internal readonly struct TimeoutScope : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationTokenRegistration _link;
    private readonly CancellationToken _linked;

    private TimeoutScope(TimeSpan timeout, TimeProvider timeProvider, CancellationToken linked)
    {
        _source = new CancellationTokenSource(timeout, timeProvider);
        _linked = linked;
        _link = linked.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _source);
    }

    public static TimeoutScope Start(TimeSpan timeout, TimeProvider timeProvider, CancellationToken linked) => new(timeout, timeProvider, linked);

    public CancellationToken Token => _source.Token;

    /// <summary>True when the timeout, not the linked token, fired.</summary>
    public bool TimedOut => _source.IsCancellationRequested && !_linked.IsCancellationRequested;

    public void Dispose()
    {
        // The registration first: its callback may be running, and must not find the source disposed.
        _link.Dispose();
        _source.Dispose();
    }
}
