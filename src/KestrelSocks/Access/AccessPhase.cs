namespace KestrelSocks.Access;

/// <summary>Where a denial happened. Tagged as <c>socks.access.phase</c>.</summary>
internal enum AccessPhase
{
    /// <summary>Before any name was resolved: the client, user, command, domain or port alone decided.</summary>
    Request,

    /// <summary>A CONNECT whose every resolved address was refused.</summary>
    Address,

    /// <summary>A UDP datagram's destination.</summary>
    Datagram,
}
