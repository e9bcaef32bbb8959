namespace KestrelSocks.Configuration;

/// <summary>Which port an association's client sends its datagrams to.</summary>
internal enum UdpMode
{
    /// <summary>Each association has a port of its own (from <c>Udp:PortRangeStart</c>–<c>End</c>, or any).</summary>
    PerAssociation,

    /// <summary>
    /// Every association's client sends to one port, <c>Udp:SharedPort</c>, and datagrams are told apart by the
    /// client's address and port: one port to publish behind a balancer or in a container, whatever the number of
    /// associations. Linux relay loops only.
    /// </summary>
    Shared,
}
