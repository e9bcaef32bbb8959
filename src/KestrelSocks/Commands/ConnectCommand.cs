using System.Net;
using System.Net.Sockets;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
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
    private readonly DestinationPolicy _policy;
    private readonly SocksMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _connectTimeout;

    public ConnectCommand(HappyEyeballsConnector connector, DestinationPolicy policy, SocksMetrics metrics, TimeProvider timeProvider, IOptions<KestrelSocksOptions> options)
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
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(session.CloseRequested))
        {
            timeout.CancelAfter(_connectTimeout);
            try
            {
                var addresses = await ResolveAsync(request.Destination, timeout.Token);
                if (addresses.Length == 0)
                {
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

    /// <summary>The addresses to try, with the rule set applied: empty when every address is refused by it.</summary>
    private async Task<IPAddress[]> ResolveAsync(Socks5Address destination, CancellationToken cancellationToken)
    {
        var addresses = await DestinationResolver.ResolveAsync(destination, cancellationToken);
        return Array.FindAll(addresses, _policy.IsAllowed);
    }
}
