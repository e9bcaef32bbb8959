namespace KestrelSocks.Diagnostics;

/// <summary>Why the relay dropped a datagram. Tagged as <c>socks.drop_reason</c>.</summary>
internal enum UdpDropReason
{
    /// <summary>From an address other than the association's client.</summary>
    WrongSource,
    Malformed,
    TooLarge,

    /// <summary>A fragment that could not join a sequence: fragmentation off, or a sequence over the size bound.</summary>
    FragmentDropped,
    ReassemblyTimeout,
    DnsFailure,
    SendFailure,

    /// <summary>Refused by the destination rule set.</summary>
    Policy,

    /// <summary>A reply arrived before the client had sent anything, so there is no address to send it to.</summary>
    ClientUnknown,

    /// <summary>From a remote the client never sent to (see Udp:RepliesOnlyFromContacted).</summary>
    Unsolicited,

    /// <summary>Processing the datagram failed unexpectedly (a bug); logged as an error.</summary>
    InternalError,

    /// <summary>Waited in the socket's queue longer than Udp:MaxQueueDelay before the relay reached it: stale, not relayed.</summary>
    QueueDelay,

    /// <summary>Past its user's Limits:PerUser:Bandwidth in its direction: UDP has no back-pressure, so the excess is shed.</summary>
    Bandwidth,
}
