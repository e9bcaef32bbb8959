namespace KestrelSocks.Access;

/// <summary>How much an <see cref="AccessRequest"/> knows about where the traffic goes.</summary>
internal enum AccessDestination : byte
{
    /// <summary>The command has no destination (BIND): a rule with a destination condition cannot match it.</summary>
    None,

    /// <summary>Destinations come later (a UDP association, before its datagrams): such a rule may still match.</summary>
    Later,

    /// <summary>The port and, for a name, the domain are known; the address only once resolved.</summary>
    Known,
}
