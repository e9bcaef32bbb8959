using System.Net;
using System.Net.Sockets;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;
using KestrelSocks.Session;
using KestrelSocks.Sockets;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Commands;

/// <summary>
/// BIND (RFC 1928 section 4): listen for exactly one inbound connection on the client's behalf. The first reply
/// says where the proxy listens; the second names the peer that connected. Peers from an address other than a
/// non-zero DST.ADDR are refused and the wait goes on. Then the bytes flow as for CONNECT.
/// </summary>
internal sealed class BindCommand
{
    private readonly SocksMetrics _metrics;
    private readonly AccessPolicy _policy;
    private readonly TimeProvider _timeProvider;
    private readonly BindOptions _options;
    private readonly bool _enabled;
    private readonly IPAddress? _listenAddress;
    private readonly IPAddress? _advertisedAddress;

    public BindCommand(SocksMetrics metrics, AccessPolicy policy, TimeProvider timeProvider, IOptions<KestrelSocksOptions> options)
    {
        _metrics = metrics;
        _policy = policy;
        _timeProvider = timeProvider;
        _options = options.Value.Bind;
        _enabled = options.Value.EffectiveBindEnabled;
        _listenAddress = string.IsNullOrEmpty(_options.ListenAddress) ? null : IPAddress.Parse(_options.ListenAddress);
        _advertisedAddress = string.IsNullOrEmpty(_options.AdvertisedAddress) ? null : IPAddress.Parse(_options.AdvertisedAddress);
    }

    public bool Enabled => _enabled;

    public async Task ExecuteAsync(Socks5Session session, Socks5Request request)
    {
        // BIND has no destination: the rules on the client, the user and the command decide.
        var verdict = _policy.Rules.EvaluateRequest(SessionAccess.CreateRequest(session, AccessCommand.Bind));
        if (!verdict.IsAllowed)
        {
            _policy.RequestDenied(verdict, AccessCommand.Bind, AccessPhase.Request, session.ConnectionId, session.RemoteEndPoint, session.User, request.Destination);
            await session.FailAsync(ReplyCode.ConnectionNotAllowed);
            return;
        }

        var controlLocal = (session.LocalEndPoint?.Address ?? IPAddress.Loopback).Unmap();

        IPAddress[]? expectedPeers;
        try
        {
            expectedPeers = await ResolveExpectedPeersAsync(request.Destination, session.CloseRequested);
        }
        catch (SocketException e)
        {
            await session.FailAsync(ReplyCodes.FromSocketError(e.SocketErrorCode));
            return;
        }
        catch (OperationCanceledException)
        {
            session.EndWithoutReply(HandshakeError.Shutdown);
            return;
        }

        if (expectedPeers is null && !_options.AllowAnyPeer)
        {
            // No peer named: the listener would hand whoever connects first a tunnel to the client.
            await session.FailAsync(ReplyCode.ConnectionNotAllowed);
            return;
        }

        if (!session.TryTakeDescriptors(1, DescriptorUse.BindListener))
        {
            session.RecordRefusal(request.Command, RequestRefusalReason.DescriptorBudget);
            await session.FailAsync(ReplyCode.GeneralFailure);
            return;
        }

        // A named peer decides the family; all zeros name no peer, so the client gets the family it reached us with.
        var family = request.Destination.Type switch
        {
            AddressType.IPv4 when !request.Destination.IsUnspecifiedIP => AddressFamily.InterNetwork,
            AddressType.IPv6 when !request.Destination.IsUnspecifiedIP => AddressFamily.InterNetworkV6,
            _ => controlLocal.AddressFamily,
        };

        using var listener = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        IPEndPoint listening;
        try
        {
            PortRangeBinder.Bind(listener, ChooseListenAddress(family, controlLocal, expectedPeers), _options.PortRangeStart, _options.PortRangeEnd);
            // Room for a stranger and the expected peer arriving together; only the expected one is kept.
            listener.Listen(8);
            listening = (IPEndPoint)listener.LocalEndPoint!;
        }
        catch (Exception e)
        {
            _metrics.BindCompleted(BindResult.ListenFailed, TimeSpan.Zero);
            session.LogConnectFailed(ReplyCode.GeneralFailure, e);
            await session.FailAsync(ReplyCode.GeneralFailure);
            return;
        }

        var announced = _advertisedAddress
            ?? (listening.Address.Equals(IPAddress.Any) || listening.Address.Equals(IPAddress.IPv6Any) ? controlLocal : listening.Address);
        if (!await session.ReplyAsync(ReplyCode.Succeeded, Socks5Address.FromEndPoint(new IPEndPoint(announced, listening.Port))))
        {
            return;
        }

        var started = _timeProvider.GetTimestamp();
        var (result, peer) = await AcceptPeerAsync(session, listener, expectedPeers);
        listener.Dispose();
        _metrics.BindCompleted(result, _timeProvider.GetElapsedTime(started));

        switch (result)
        {
            case BindResult.Accepted:
                bool replied;
                try
                {
                    replied = await session.ReplyAsync(ReplyCode.Succeeded, Socks5Address.FromEndPoint((IPEndPoint)peer!.RemoteEndPoint!));
                }
                catch
                {
                    peer!.Dispose();
                    throw;
                }

                if (!replied)
                {
                    peer.Dispose();
                    return;
                }

                await session.RelayAsync(peer);
                break;
            case BindResult.Timeout:
                await session.FailAsync(ReplyCode.TtlExpired);
                break;
            case BindResult.Shutdown:
                session.EndWithoutReply(HandshakeError.Shutdown);
                break;
            default:
                // The client left: nobody to answer.
                break;
        }
    }

    private async Task<(BindResult Result, Socket? Peer)> AcceptPeerAsync(Socks5Session session, Socket listener, IPAddress[]? expectedPeers)
    {
        using var timeout = TimeoutScope.Start(_options.AcceptTimeout, _timeProvider, session.CloseRequested);
        using var stopWatching = new CancellationTokenSource();
        var clientClosed = session.WaitForClientCloseAsync(stopWatching.Token);
        try
        {
            while (true)
            {
                var accept = listener.AcceptAsync(timeout.Token).AsTask();
                if (await Task.WhenAny(accept, clientClosed) == clientClosed && await clientClosed)
                {
                    // Closing the listener now frees its port at once; the pending accept ends with it.
                    listener.Dispose();
                    _ = accept.ContinueWith(static t => t.Result.Dispose(), TaskContinuationOptions.OnlyOnRanToCompletion);
                    return (BindResult.ClientClosed, null);
                }

                Socket peer;
                try
                {
                    peer = await accept;
                }
                catch (OperationCanceledException)
                {
                    return (session.CloseRequested.IsCancellationRequested ? BindResult.Shutdown : BindResult.Timeout, null);
                }

                if (IsExpected((IPEndPoint)peer.RemoteEndPoint!, expectedPeers))
                {
                    peer.NoDelay = true;
                    return (BindResult.Accepted, peer);
                }

                _metrics.BindPeerRefused();
                peer.LingerState = new LingerOption(true, 0);
                peer.Dispose();
            }
        }
        finally
        {
            await stopWatching.CancelAsync();
            await clientClosed;
        }
    }

    private static bool IsExpected(IPEndPoint peer, IPAddress[]? expectedPeers)
    {
        if (expectedPeers is null)
        {
            return true;
        }

        var address = peer.Address.Unmap();
        return Array.IndexOf(expectedPeers, address) >= 0;
    }

    /// <summary>The addresses a peer may connect from; null when DST.ADDR is all zeros and any peer will do.</summary>
    private static async Task<IPAddress[]?> ResolveExpectedPeersAsync(Socks5Address destination, CancellationToken cancellationToken)
    {
        if (destination.IsUnspecifiedIP)
        {
            return null;
        }

        // A name that is all zeros in text names no peer either.
        var addresses = await DestinationResolver.ResolveAsync(destination, cancellationToken);
        return Array.TrueForAll(addresses, static a => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any)) ? null : addresses;
    }

    /// <summary>Throws <see cref="SocketException"/> when the peer the client named cannot be reached from here.</summary>
    private IPAddress ChooseListenAddress(AddressFamily family, IPAddress controlLocal, IPAddress[]? expectedPeers)
    {
        if (_listenAddress is not null && _listenAddress.AddressFamily == family)
        {
            return _listenAddress;
        }

        if (controlLocal.AddressFamily == family)
        {
            return controlLocal;
        }

        // The client named a peer of the other family than its control connection's. The wildcard address would be
        // announced as the control connection's address, of the wrong family; the route to the peer names one the peer
        // can reach.
        var peer = Array.Find(expectedPeers ?? [], a => a.AddressFamily == family);
        return peer is not null ? LocalRoute.GetSourceAddress(peer) : throw new SocketException((int)SocketError.AddressFamilyNotSupported);
    }
}
