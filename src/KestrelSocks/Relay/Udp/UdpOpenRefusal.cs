namespace KestrelSocks.Relay.Udp;

/// <summary>Why <see cref="UdpRelay.TryOpen"/> opened no association.</summary>
internal enum UdpOpenRefusal
{
    None,

    /// <summary><c>Udp:MaxAssociations</c> are open.</summary>
    AssociationLimit,

    /// <summary>The descriptor budget has no room for the association's sockets.</summary>
    DescriptorBudget,

    /// <summary>On the shared port, another association holds the client's declared address and port.</summary>
    ClientEndPointInUse,
}
