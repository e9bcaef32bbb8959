namespace KestrelSocks.Session;

/// <summary>
/// An admitted session's share of the server's limits: its place among sessions and handshakes, its client's counts,
/// and the descriptors it holds. Everything is given back once, however the session ends.
/// </summary>
internal sealed class AdmissionTicket : IDisposable
{
    private readonly SessionAdmission _admission;
    private readonly SessionAdmission.ClientEntry _client;
    private bool _inHandshake = true;
    private int _descriptors;
    private int _associations;
    private int _connectionReleased;
    private bool _disposed;

    internal AdmissionTicket(SessionAdmission admission, SessionAdmission.ClientEntry client)
    {
        _admission = admission;
        _client = client;
    }

    /// <summary>The handshake is over (request read, or failed): the session no longer counts against handshake limits.</summary>
    public void EndHandshake()
    {
        if (_inHandshake)
        {
            _inHandshake = false;
            _admission.EndHandshake(_client);
        }
    }

    /// <summary>
    /// The transport has closed the client's socket: its descriptor goes back. Not at the session's end: a graceful
    /// close waits up to a second for the client's FIN, and a flood of sessions that end at once would otherwise hold
    /// that many descriptors outside the budget.
    /// </summary>
    public void ConnectionClosed()
    {
        if (Interlocked.Exchange(ref _connectionReleased, 1) == 0)
        {
            _admission.Budget.Return(1);
        }
    }

    /// <summary>Takes descriptors for a socket the session opens (an upstream, a BIND listener); given back when the session ends.</summary>
    public bool TryTakeDescriptors(int count)
    {
        if (!_admission.Budget.TryTake(count))
        {
            return false;
        }

        Interlocked.Add(ref _descriptors, count);
        return true;
    }

    /// <summary>One more UDP association for this client, within the per-client limit.</summary>
    public bool TryAddAssociation()
    {
        if (!_admission.TryAddAssociation(_client))
        {
            return false;
        }

        Interlocked.Increment(ref _associations);
        return true;
    }

    /// <summary>An association ended. One that ends after the session (its close raced the session's end) was already given back.</summary>
    public void RemoveAssociation()
    {
        var held = Volatile.Read(ref _associations);
        while (held > 0)
        {
            var seen = Interlocked.CompareExchange(ref _associations, held - 1, held);
            if (seen == held)
            {
                SessionAdmission.RemoveAssociation(_client);
                return;
            }

            held = seen;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _admission.Budget.Return(Interlocked.Exchange(ref _descriptors, 0));
        for (var left = Interlocked.Exchange(ref _associations, 0); left > 0; left--)
        {
            SessionAdmission.RemoveAssociation(_client);
        }

        _admission.EndSession(_client, _inHandshake);
        _inHandshake = false;
    }
}
