using System.Net;
using System.Net.Sockets;
using KestrelSocks.Access;
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
        using var group = new AssociationGroup(session.Admission);
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
            return await RefuseAsync(session, request, first, RequestRefusalReason.ConnectionAssociationLimit, ReplyCode.ConnectionNotAllowed);
        }

        // Before any datagram: refused only when the rules refuse every destination this client could send to; each
        // datagram's destination is checked on its own (DestinationTable).
        var verdict = _relay.Policy.Rules.EvaluateRequest(SessionAccess.CreateRequest(session, AccessCommand.Udp).WithDestinationsLater());
        if (!verdict.IsAllowed)
        {
            _relay.Policy.RequestDenied(verdict, AccessCommand.Udp, AccessPhase.Request, session.ConnectionId, session.RemoteEndPoint, session.User, request.Destination);
            if (first)
            {
                await session.FailAsync(ReplyCode.ConnectionNotAllowed);
                return false;
            }

            return await session.ReplyAsync(ReplyCode.ConnectionNotAllowed);
        }

        if (!session.Admission.TryAddAssociation())
        {
            return await RefuseAsync(session, request, first, RequestRefusalReason.ClientAssociationLimit, ReplyCode.ConnectionNotAllowed);
        }

        UdpAssociationSlot? userSlot = null;
        if (session.Allowance is { } allowance && (userSlot = allowance.TryOpenUdpAssociation()) is null)
        {
            // The user holds their limit of associations across all their connections (counted and logged there).
            session.Admission.RemoveAssociation();
            if (first)
            {
                await session.FailAsync(ReplyCode.ConnectionNotAllowed);
                return false;
            }

            return await session.ReplyAsync(ReplyCode.ConnectionNotAllowed);
        }

        UdpAssociation? association;
        UdpOpenRefusal refusal;
        try
        {
            association = _relay.TryOpen(CreateSettings(session, request, userSlot), out refusal);
        }
        catch (Exception e)
        {
            // The association is not the client's: what it was counted against goes back now (a slot is released
            // once only, so one half opened and closed later cannot give it back twice).
            session.Admission.RemoveAssociation();
            userSlot?.Release();
            session.LogConnectFailed(ReplyCode.GeneralFailure, e);
            if (first)
            {
                await session.FailAsync(ReplyCode.GeneralFailure);
                return false;
            }

            return await session.ReplyAsync(ReplyCode.GeneralFailure);
        }

        if (association is null)
        {
            session.Admission.RemoveAssociation();
            userSlot?.Release();
            if (refusal == UdpOpenRefusal.DescriptorBudget)
            {
                _relay.Metrics.DescriptorsRefused(DescriptorUse.UdpAssociation);
            }

            var reason = refusal switch
            {
                UdpOpenRefusal.DescriptorBudget => RequestRefusalReason.DescriptorBudget,
                UdpOpenRefusal.ClientEndPointInUse => RequestRefusalReason.ClientEndPointInUse,
                _ => RequestRefusalReason.AssociationLimit,
            };
            return await RefuseAsync(session, request, first, reason, ReplyCode.GeneralFailure);
        }

        // From here the group gives the client's association count back when the association ends.
        group.Add(association);
        var controlLocal = (session.LocalEndPoint?.Address ?? IPAddress.Loopback).Unmap();

        var announced = new IPEndPoint(_relay.GetAnnouncedAddress(association, controlLocal), association.RelayEndPoint.Port);
        return await session.ReplyAsync(ReplyCode.Succeeded, Socks5Address.FromEndPoint(announced));
    }

    /// <summary>
    /// A refused first request closes the connection, as any failed request does; a refused further one is answered
    /// and the associations already open carry on.
    /// </summary>
    private static async Task<bool> RefuseAsync(Socks5Session session, Socks5Request request, bool first, RequestRefusalReason reason, ReplyCode reply)
    {
        session.RecordRefusal(request.Command, reason);
        if (first)
        {
            await session.FailAsync(reply);
            return false;
        }

        return await session.ReplyAsync(reply);
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
            RuleClient = session.RemoteEndPoint?.Address,
            RuleUser = SessionAccess.GetUser(session),
            RuleGroups = SessionAccess.GetGroups(session),
            UserSlot = userSlot,
        };
    }
}
