using System.IO.Pipelines;
using System.Net;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol.ProxyProtocol;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Session;

/// <summary>
/// Connection middleware of the PROXY protocol listeners: checks that the peer is a trusted balancer, reads its
/// header, and hands the connection on with the header's client as <see cref="ConnectionContext.RemoteEndPoint"/>, so
/// admission, access rules, UDP admission, logs and metrics all see the client and not the balancer. Anything else
/// is closed before a SOCKS byte is read, logged at a bounded rate, and counted.
/// </summary>
internal sealed class ProxyHeaderReader
{
    private readonly AddressRange[] _trusted;
    private readonly TimeSpan _headerTimeout;
    private readonly TimeProvider _timeProvider;
    private readonly SocksMetrics _metrics;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _rejectionLog;

    public ProxyHeaderReader(IOptions<KestrelSocksOptions> options, SocksMetrics metrics, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        var proxy = options.Value.ProxyProtocol;
        _trusted = [.. proxy.TrustedNetworks.Select(static n => KestrelSocksOptionsValidator.TryParseNetwork(n, out var network)
            ? AddressRange.From(network)
            : throw new InvalidOperationException($"'{n}' passed validation but is not a network."))];
        _headerTimeout = proxy.HeaderTimeout;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger("KestrelSocks.Session");
        _rejectionLog = new LogRateLimiter(timeProvider, TimeSpan.FromSeconds(1));
    }

    public async Task OnConnectedAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var peer = connection.RemoteEndPoint as IPEndPoint;
        if (peer is null || !AddressRange.AnyContains(_trusted, AddressKey.From(peer.Address)))
        {
            Reject(connection, peer, ProxyHeaderRejectReason.Untrusted);
            return;
        }

        var (header, reason) = await ReadHeaderAsync(connection.Transport.Input);
        if (reason is { } rejected)
        {
            Reject(connection, peer, rejected);
            return;
        }

        var client = header.GetClient();
        _metrics.ProxyHeaderAccepted(header.Version, client is not null);
        if (client is not null)
        {
            connection.RemoteEndPoint = client;
        }

        await next(connection);
    }

    /// <summary>The header, or why there is none. Reads no byte past it: the SOCKS greeting stays in the pipe.</summary>
    internal async ValueTask<(ProxyHeader Header, ProxyHeaderRejectReason? Reason)> ReadHeaderAsync(PipeReader input)
    {
        using var timeout = new CancellationTokenSource(_headerTimeout, _timeProvider);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                return (default, ProxyHeaderRejectReason.Timeout);
            }
            catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException)
            {
                return (default, ProxyHeaderRejectReason.Truncated);
            }

            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            try
            {
                if (ProxyHeaderParser.TryParse(ref buffer, out var header))
                {
                    consumed = examined = buffer.Start;
                    return (header, null);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    return (default, ProxyHeaderRejectReason.Truncated);
                }
            }
            catch (ProxyProtocolException e)
            {
                return (default, GetReason(e.Error));
            }
            finally
            {
                input.AdvanceTo(consumed, examined);
            }
        }
    }

    internal static ProxyHeaderRejectReason GetReason(ProxyHeaderError error) => error switch
    {
        ProxyHeaderError.MissingSignature => ProxyHeaderRejectReason.Missing,
        ProxyHeaderError.TooLong => ProxyHeaderRejectReason.Oversized,
        ProxyHeaderError.UnsupportedFamily => ProxyHeaderRejectReason.Unsupported,
        _ => ProxyHeaderRejectReason.Malformed,
    };

    private void Reject(ConnectionContext connection, IPEndPoint? peer, ProxyHeaderRejectReason reason)
    {
        _metrics.ProxyHeaderRejected(reason);
        if (_rejectionLog.TryAcquire(out var suppressed))
        {
            SocksLog.ProxyHeaderRejected(_logger, connection.ConnectionId, peer, MetricNames.GetProxyRejectReasonName(reason), suppressed);
        }

        // Reset, as the connection handler does for a refusal at accept: a graceful close would hold the descriptor
        // while waiting for the peer's FIN, and these connections are the ones most likely to be a flood.
        connection.Abort(new ConnectionAbortedException($"PROXY protocol header {MetricNames.GetProxyRejectReasonName(reason)}."));
    }
}
