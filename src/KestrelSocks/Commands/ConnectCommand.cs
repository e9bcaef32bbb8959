using System.Net;
using System.Net.Sockets;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;
using KestrelSocks.Session;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Commands;

/// <summary>
/// CONNECT (RFC 1928 section 4): resolve the destination, apply the rule set, connect within the connect timeout,
/// and answer with the upstream socket's local address. The session relays: this frame ends with the reply, so a
/// tunnel that lasts for hours does not keep it (and the request it copied) alive.
/// </summary>
internal sealed class ConnectCommand
{
    private readonly HappyEyeballsConnector _connector;
    private readonly AccessPolicy _policy;
    private readonly SocksMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _connectTimeout;

    public ConnectCommand(HappyEyeballsConnector connector, AccessPolicy policy, SocksMetrics metrics, TimeProvider timeProvider, IOptions<KestrelSocksOptions> options)
    {
        _connector = connector;
        _policy = policy;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _connectTimeout = options.Value.Limits.ConnectTimeout;
    }

    /// <summary>The destination's socket, once the success reply is sent; null when the request failed (and was answered) or the client left.</summary>
    public async Task<Socket?> ExecuteAsync(Socks5Session session, Socks5Request request)
    {
        if (!session.TryTakeDescriptors(1, DescriptorUse.Upstream))
        {
            session.RecordRefusal(request.Command, RequestRefusalReason.DescriptorBudget);
            await session.FailAsync(ReplyCode.GeneralFailure);
            return null;
        }

        var started = _timeProvider.GetTimestamp();
        Socket? upstream = null;
        ReplyCode reply;
        Exception? failure = null;

        // One snapshot for the whole request: a reload meanwhile applies to the next one.
        var rules = _policy.Rules;
        using (var timeout = TimeoutScope.Start(_connectTimeout, _timeProvider, session.CloseRequested))
        {
            try
            {
                var verdict = EvaluateRequest(rules, session, request.Destination);
                var phase = AccessPhase.Request;
                IPAddress[] addresses = [];
                if (verdict.IsAllowed)
                {
                    addresses = FilterAllowed(rules, session, request.Destination, await ResolveAsync(request.Destination, timeout.Token), out verdict);
                    phase = AccessPhase.Address;
                }

                if (addresses.Length == 0)
                {
                    _policy.RequestDenied(verdict, AccessCommand.Connect, phase, session.ConnectionId, session.RemoteEndPoint, session.User, request.Destination);
                    reply = ReplyCode.ConnectionNotAllowed;
                }
                else
                {
                    upstream = await _connector.ConnectAsync(addresses, request.Destination.Port, timeout.Token);
                    reply = ReplyCode.Succeeded;
                }
            }
            catch (OperationCanceledException) when (session.CloseRequested.IsCancellationRequested)
            {
                // Shutting down: a session still connecting is not worth draining.
                session.EndWithoutReply(HandshakeError.Shutdown);
                return null;
            }
            catch (OperationCanceledException e)
            {
                reply = ReplyCode.TtlExpired;
                failure = e;
            }
            catch (SocketException e)
            {
                reply = ReplyCodes.FromSocketError(e.SocketErrorCode);
                failure = e;
            }
            catch (Exception e)
            {
                // Whatever else a connect attempt throws, the client is owed a reply (RFC 1928 section 6).
                reply = ReplyCode.GeneralFailure;
                failure = e;
            }
        }

        _metrics.ConnectCompleted(reply, _timeProvider.GetElapsedTime(started));
        if (upstream is null)
        {
            session.LogConnectFailed(reply, failure);
            await session.FailAsync(reply);
            return null;
        }

        bool replied;
        try
        {
            var bound = Socks5Address.FromEndPoint((IPEndPoint)upstream.LocalEndPoint!);
            replied = await session.ReplyAsync(ReplyCode.Succeeded, bound);
        }
        catch
        {
            upstream.Dispose();
            throw;
        }

        if (!replied)
        {
            upstream.Dispose();
            return null;
        }

        return upstream;
    }

    /// <summary>Before resolving: a rule on the client, the user, the name or the port refuses without a DNS query.</summary>
    private static AccessVerdict EvaluateRequest(RuleSet rules, Socks5Session session, in Socks5Address destination) =>
        rules.EvaluateRequest(SessionAccess.CreateRequest(session, destination));

    /// <summary>
    /// The addresses to try, each one checked: they are the only ones the connector dials, so what a name resolves to
    /// cannot walk round a rule. Empty, with the first refusal in <paramref name="denial"/>, when all are refused.
    /// </summary>
    private static IPAddress[] FilterAllowed(RuleSet rules, Socks5Session session, in Socks5Address destination, IPAddress[] addresses, out AccessVerdict denial)
    {
        var request = SessionAccess.CreateRequest(session, destination);
        denial = default;
        var allowed = new List<IPAddress>(addresses.Length);
        foreach (var address in addresses)
        {
            var verdict = rules.EvaluateAddress(request, address);
            if (verdict.IsAllowed)
            {
                allowed.Add(address);
            }
            else if (denial.Rule is null)
            {
                denial = verdict;
            }
        }

        return allowed.Count == addresses.Length ? addresses : [.. allowed];
    }

    private static async Task<IPAddress[]> ResolveAsync(Socks5Address destination, CancellationToken cancellationToken)
    {
        return await DestinationResolver.ResolveAsync(destination, cancellationToken);
    }
}
