using System.Net;

namespace KestrelSocks.Access;

/// <summary>
/// What a rule is matched against, apart from the destination address: who asks (client address, user, groups), for
/// what command, and what is known of the destination. Built on the stack for each evaluation.
/// </summary>
internal readonly ref struct AccessRequest
{
    public AccessRequest(AccessCommand command, IPAddress? client, string? user, ReadOnlySpan<string> groups)
        : this(command, client is null ? null : AddressKey.From(client), user, groups, AccessDestination.None, default, -1)
    {
    }

    /// <param name="domain">The destination's name as on the wire, empty for an address; one trailing dot is ignored.</param>
    /// <param name="port">The destination port, or -1 when <paramref name="destination"/> is not <see cref="AccessDestination.Known"/>.</param>
    public AccessRequest(AccessCommand command, UInt128? client, string? user, ReadOnlySpan<string> groups,
        AccessDestination destination, ReadOnlySpan<byte> domain, int port)
    {
        Command = command;
        Client = client;
        User = user;
        Groups = groups;
        Destination = destination;
        Domain = !domain.IsEmpty && domain[^1] == (byte)'.' ? domain[..^1] : domain;
        Port = port;
    }

    public AccessCommand Command { get; }

    /// <summary>The client's address as an <see cref="AddressKey"/>; null when unknown, which no Clients condition matches.</summary>
    public UInt128? Client { get; }

    /// <summary>The authenticated user; null for an anonymous session, which no Users condition matches.</summary>
    public string? User { get; }

    public ReadOnlySpan<string> Groups { get; }

    public AccessDestination Destination { get; }

    public ReadOnlySpan<byte> Domain { get; }

    public int Port { get; }

    /// <summary>The same request with the destination now known: a CONNECT's or a datagram's name (or none) and port.</summary>
    public AccessRequest WithDestination(ReadOnlySpan<byte> domain, int port) =>
        new(Command, Client, User, Groups, AccessDestination.Known, domain, port);

    /// <summary>The same request for a command whose destinations come later (UDP ASSOCIATE).</summary>
    public AccessRequest WithDestinationsLater() =>
        new(Command, Client, User, Groups, AccessDestination.Later, default, -1);
}
