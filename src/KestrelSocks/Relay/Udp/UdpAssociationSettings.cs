using System.Net;
using KestrelSocks.Limits;

namespace KestrelSocks.Relay.Udp;

/// <summary>Who an association serves: where its client sends from, and who asked for it.</summary>
internal sealed class UdpAssociationSettings
{
    /// <summary>The only IP datagrams are accepted from.</summary>
    public required IPAddress ClientAddress { get; init; }

    /// <summary>The client's port, or 0 to learn it from the first datagram.</summary>
    public required int ClientPort { get; init; }

    /// <summary>Where the control connection reached the proxy: the default relay address.</summary>
    public required IPAddress ControlLocalAddress { get; init; }

    public required string User { get; init; }

    public required string ConnectionId { get; init; }

    /// <summary>Who the rules see for every datagram: the control connection's client address (not the declared one).</summary>
    public IPAddress? RuleClient { get; init; }

    /// <summary>The authenticated user for the rules; null when anonymous.</summary>
    public string? RuleUser { get; init; }

    public string[] RuleGroups { get; init; } = [];
    /// <summary>The association counted against its authenticated user's limits, and their byte buckets; null when none apply.</summary>
    public UdpAssociationSlot? UserSlot { get; init; }
}
