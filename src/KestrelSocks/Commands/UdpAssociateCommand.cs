using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Session;
using Microsoft.Extensions.Options;
using KestrelSocks.Sockets;

namespace KestrelSocks.Commands;

/// <summary>
/// UDP ASSOCIATE (RFC 1928 sections 4 and 7): opens an association on the relay and keeps it for as long as the
/// control connection lives.
/// <para>
/// Extension: the control connection stays readable after the reply, and each further UDP ASSOCIATE on it opens
/// another association with its own relay endpoint, up to a per-connection limit (then REP 02, and the connection
/// and its associations carry on). A client that needs many UDP flows needs one TCP connection, not one per flow.
/// A client that sends one request sees plain RFC 1928 behaviour. Closing the control connection ends every
/// association on it; when the last one idles out, the control connection is closed too.
/// </para>
/// </summary>
internal sealed class UdpAssociateCommand
{
    private readonly UdpRelay _relay;
    private readonly int _maxPerConnection;

    public UdpAssociateCommand(UdpRelay relay, IOptions<KestrelSocksOptions> options)
    {
        _relay = relay;
        _maxPerConnection = options.Value.Udp.MaxAssociationsPerConnection;
    }

    public bool Enabled => _relay.Enabled;

    public async Task ExecuteAsync(Socks5Session session, Socks5Request request)
    {
        using var group = new AssociationGroup();
        try
        {
            var current = request;
            var first = true;
            while (await AnswerAsync(session, current, first, group))
            {
                first = false;
                var next = await session.ReadNextRequestAsync(group.AllIdle);
                if (next is null)
                {
                    return;
                }

                current = next.Value;
            }
        }
        finally
        {
            var (up, down) = group.CloseAll();
            session.AddRelayedBytes(up, down);
        }
    }

    /// <summary>Answers one request on the control connection; false when the connection is done.</summary>
    private async Task<bool> AnswerAsync(Socks5Session session, Socks5Request request, bool first, AssociationGroup group)
    {
        if (request.Command != (byte)Socks5Command.UdpAssociate)
        {
            // A control connection with associations cannot become a tunnel; it answers and carries on.
            return await session.ReplyAsync(ReplyCode.CommandNotSupported);
        }

        if (group.OpenCount >= _maxPerConnection)
        {
            return await session.ReplyAsync(ReplyCode.ConnectionNotAllowed);
        }

        UdpAssociationSlot? userSlot = null;
        if (session.Allowance is { } allowance && (userSlot = allowance.TryOpenUdpAssociation()) is null)
        {
            // The user holds their limit of associations across all their connections. As with any failure reply,
            // a connection whose first request it is closes (RFC 1928 section 6); a further one carries on.
            if (first)
            {
                await session.FailAsync(ReplyCode.ConnectionNotAllowed);
                return false;
            }

            return await session.ReplyAsync(ReplyCode.ConnectionNotAllowed);
        }

        UdpAssociation association;
        try
        {
            association = _relay.Open(CreateSettings(session, request, userSlot));
        }
        catch (Exception e)
        {
            // Whatever failed, the association is not the client's: its slot goes back now (releasing is once only,
            // so one half opened and closed later cannot give it back twice).
            userSlot?.Release();
            if (e is not SocketException)
            {
                throw;
            }

            session.LogConnectFailed(ReplyCode.GeneralFailure, e);
            if (first)
            {
                await session.FailAsync(ReplyCode.GeneralFailure);
                return false;
            }

            return await session.ReplyAsync(ReplyCode.GeneralFailure);
        }

        group.Add(association);
        var controlLocal = (session.LocalEndPoint?.Address ?? IPAddress.Loopback).Unmap();

        var announced = new IPEndPoint(_relay.GetAnnouncedAddress(association, controlLocal), association.RelayEndPoint.Port);
        return await session.ReplyAsync(ReplyCode.Succeeded, Socks5Address.FromEndPoint(announced));
    }

    private static UdpAssociationSettings CreateSettings(Socks5Session session, in Socks5Request request, UdpAssociationSlot? userSlot)
    {
        // DST.ADDR/DST.PORT is where the client will send from; zeros (or a name) mean "the control connection's IP,
        // port learnt from the first datagram".
        var destination = request.Destination;
        var clientAddress = destination.Type != AddressType.DomainName && !destination.IsUnspecifiedIP
            ? destination.ToIPAddress()
            : session.RemoteEndPoint?.Address ?? IPAddress.Loopback;
        return new UdpAssociationSettings
        {
            ClientAddress = clientAddress,
            ClientPort = destination.Port,
            ControlLocalAddress = session.LocalEndPoint?.Address ?? IPAddress.Loopback,
            User = session.User,
            ConnectionId = session.ConnectionId,
            UserSlot = userSlot,
        };
    }
}
