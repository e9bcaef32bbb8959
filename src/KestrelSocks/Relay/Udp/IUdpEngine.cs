namespace KestrelSocks.Relay.Udp;

/// <summary>
/// How associations' sockets are waited on and drained; chosen once, when the relay starts
/// (<see cref="UdpEventLoopEngine"/> on Linux, <see cref="UdpPortableEngine"/> elsewhere or by configuration).
/// An engine runs all of one association's datagram work on one thread at a time, so the association's
/// per-datagram state needs no lock.
/// </summary>
internal interface IUdpEngine : IDisposable
{
    /// <summary>True when sends can name the local address they leave from, so one wildcard-bound socket can serve both sides.</summary>
    bool SetsSourceAddress { get; }

    /// <summary>Associations attached now; a test can watch it return to zero.</summary>
    int Attached { get; }

    /// <summary>Starts relaying the association's sockets.</summary>
    void Attach(UdpAssociation association);

    /// <summary>Stops watching the association's sockets; called before they close.</summary>
    void Detach(UdpAssociation association);

    /// <summary>Runs <see cref="UdpAssociation.RunScheduled"/> where the association's datagram work runs. Any thread.</summary>
    void Schedule(UdpAssociation association);
}
