using KestrelSocks.Diagnostics;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Session;

namespace KestrelSocks.Commands;

/// <summary>The associations of one control connection, and a token that fires when the last open one idles out.</summary>
internal sealed class AssociationGroup : IDisposable
{
    private readonly AdmissionTicket _admission;
    private readonly List<UdpAssociation> _associations = [];
    private readonly CancellationTokenSource _allIdle = new();
    private int _open;
    private bool _disposed;
    private long _closedBytesUp;
    private long _closedBytesDown;

    /// <param name="admission">The session's share of the limits; each association was counted against its client there, and is given back when it ends.</param>
    public AssociationGroup(AdmissionTicket admission)
    {
        _admission = admission;
    }

    public CancellationToken AllIdle => _allIdle.Token;

    public int OpenCount => Volatile.Read(ref _open);

    public void Add(UdpAssociation association)
    {
        Interlocked.Increment(ref _open);
        lock (_associations)
        {
            _associations.Add(association);
        }

        association.Closed += OnClosed;

        // It may have ended before it was watched.
        if (association.IsClosed)
        {
            OnClosed(association, UdpAssociationEnd.SocketError);
        }
    }

    /// <summary>Ends every association and returns the payload bytes they relayed up and down.</summary>
    public (long Up, long Down) CloseAll()
    {
        UdpAssociation[] associations;
        lock (_associations)
        {
            associations = [.. _associations];
        }

        foreach (var association in associations)
        {
            association.Close(UdpAssociationEnd.ControlClosed);
        }

        return (Interlocked.Read(ref _closedBytesUp), Interlocked.Read(ref _closedBytesDown));
    }

    public void Dispose()
    {
        lock (_associations)
        {
            // An association the sweeper closes at this very moment must not cancel a disposed source.
            _disposed = true;
            _allIdle.Dispose();
        }
    }

    private void OnClosed(UdpAssociation association, UdpAssociationEnd reason)
    {
        association.Closed -= OnClosed;
        lock (_associations)
        {
            // Ended associations leave the list, so a long-lived control connection holds only live ones.
            // Removal also makes this run once per association, however it learnt of the end.
            if (!_associations.Remove(association))
            {
                return;
            }
        }

        _admission.RemoveAssociation();
        Interlocked.Add(ref _closedBytesUp, association.BytesUp);
        Interlocked.Add(ref _closedBytesDown, association.BytesDown);

        if (Interlocked.Decrement(ref _open) == 0 && reason != UdpAssociationEnd.ControlClosed)
        {
            lock (_associations)
            {
                if (!_disposed)
                {
                    _allIdle.Cancel();
                }
            }
        }
    }
}
