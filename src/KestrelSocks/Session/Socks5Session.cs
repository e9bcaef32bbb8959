using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Authentication;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;
using KestrelSocks.Relay;
using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Session;

/// <summary>
/// One SOCKS5 connection: greeting → authentication → request, then the command. Every bad input gets a defined
/// answer (method FF, auth status 01, or a REP code) or a close, and is counted.
/// </summary>
internal sealed partial class Socks5Session
{
    private readonly ConnectionContext _connection;
    private readonly SessionServices _services;
    private readonly long _started;
    private HandshakeState _state;
    private UserIdentity? _identity;

    // Held only from the credentials' arrival to their check, which clears them.
    private StrongBox<UsernamePasswordRequest>? _credentials;
    private UserAllowance? _allowance;
    // The first request is the session's for its whole life (metrics, the log line), so it is parsed in place; a
    // further one (another UDP association on the same connection) gets a box of its own, rarely needed.
    private Socks5Request _request;
    private StrongBox<Socks5Request>? _nextRequest;
    private bool _hasRequest;
    private long _extraBytesUp;
    private long _extraBytesDown;
    private ReplyCode? _reply;
    private bool _replyCounted;
    private bool _onFirstRequest = true;
    private Tunnel? _tunnel;

    public Socks5Session(ConnectionContext connection, SessionServices services, AdmissionTicket admission)
    {
        _connection = connection;
        _services = services;
        Admission = admission;
        _started = services.TimeProvider.GetTimestamp();
    }

    /// <summary>
    /// Fires when the SOCKS listeners close at shutdown: handshakes stop at once; tunnels drain until
    /// <c>Limits:DrainTimeout</c>. Kestrel's own close request would come only after the drain, when it stops.
    /// </summary>
    public CancellationToken CloseRequested => _services.Shutdown.Token;

    public string ConnectionId => _connection.ConnectionId;

    /// <summary>What this session holds of the server's limits; the connection handler gives it all back.</summary>
    public AdmissionTicket Admission { get; }

    /// <summary>The authenticated user, or "-" for anonymous sessions.</summary>
    public string User => _identity?.Name ?? "-";

    /// <summary>The authenticated user's groups; empty for anonymous sessions.</summary>
    public string[] Groups => _identity?.Groups ?? [];

    /// <summary>The authenticated user's share of the per-user limits while the session runs; null for anonymous sessions or without such limits.</summary>
    public UserAllowance? Allowance => _allowance;

    /// <summary>Where the client reached the proxy.</summary>
    public IPEndPoint? LocalEndPoint => _connection.LocalEndPoint as IPEndPoint;

    /// <summary>The client's address.</summary>
    public IPEndPoint? RemoteEndPoint => _connection.RemoteEndPoint as IPEndPoint;

    public async Task RunAsync()
    {
        _services.Metrics.SessionStarted();

        // The drain's end aborts the connection wherever the session is; Kestrel's transport then closes the socket,
        // and a detached tunnel's with it.
        using var drainEnd = _services.Shutdown.AbortToken.UnsafeRegister(
            static state => ((ConnectionContext)state!).Abort(new ConnectionAbortedException("The drain timeout ended.")), _connection);
        try
        {
            var hasRequest = await ReadRequestAsync();
            Admission.EndHandshake();
            if (!hasRequest)
            {
                return;
            }

            if (_identity is not null && _services.UserLimits.Enabled && !await OpenUserSessionAsync())
            {
                return;
            }

            if (_request.Command != (byte)Socks5Command.Connect)
            {
                await DispatchAsync();
            }
            else if (await _services.Connect.ExecuteAsync(this, _request) is { } upstream)
            {
                // From here the tunnel owns the socket and closes it on every path.
                await RelayAsync(upstream);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The client went away mid-reply: nothing left to answer.
        }
        catch (Exception e)
        {
            SocksLog.SessionError(_services.Logger, ConnectionId, e);
            _connection.Abort(new ConnectionAbortedException("Unexpected session error.", e));
        }
        finally
        {
            _allowance?.CloseSession();

            // A session can end on a socket engine thread (a tunnel ends on the thread that saw its last byte, a
            // refused connect completes there): the logs, which may wait for a full console queue, and Kestrel's close
            // that follow belong on the thread pool, where a wait holds up one thread and not every socket of an engine.
            if (SocketEngineThread.IsCurrent)
            {
                await Task.Yield();
            }

            if (_tunnel is { } ended)
            {
                _services.Metrics.TunnelEnded(ended.End);
            }

            if (_tunnel is { End: not TunnelEnd.Completed } aborted)
            {
                SocksLog.TunnelAborted(_services.Logger, ConnectionId, aborted.End.ToString(), aborted.Error);
            }

            var duration = _services.TimeProvider.GetElapsedTime(_started);
            _services.Metrics.SessionEnded(_hasRequest ? _request.Command : null, _reply, duration);
            if (_hasRequest && _services.Logger.IsEnabled(LogLevel.Information))
            {
                SocksLog.SessionCompleted(_services.Logger, ConnectionId, _connection.RemoteEndPoint, LogText.Escape(User),
                    MetricNames.GetCommandName(_request.Command), LogText.Destination(_request.Destination),
                    _reply is { } reply ? MetricNames.GetReplyName(reply) : "none",
                    (_tunnel?.BytesUp ?? 0) + _extraBytesUp, (_tunnel?.BytesDown ?? 0) + _extraBytesDown, (long)duration.TotalMilliseconds);
            }
        }
    }

    /// <summary>
    /// Counts the session against its user's limit. Past it the request is refused with REP 02 (connection not allowed
    /// by ruleset: a limit is a rule) and, as RFC 1928 section 6 asks after a failure reply, the connection closed.
    /// </summary>
    private async Task<bool> OpenUserSessionAsync()
    {
        _allowance = _services.UserLimits.TryOpenSession(User, _request.Command);
        if (_allowance is null)
        {
            await FailAsync(ReplyCode.ConnectionNotAllowed);
            return false;
        }

        return true;
    }

    /// <summary>Every command but CONNECT, which <see cref="RunAsync"/> runs itself so that only its frame lasts as long as the tunnel.</summary>
    private Task DispatchAsync()
    {
        return _request.Command switch
        {
            (byte)Socks5Command.Bind when _services.Bind.Enabled => _services.Bind.ExecuteAsync(this, _request),
            (byte)Socks5Command.UdpAssociate when _services.UdpAssociate.Enabled => _services.UdpAssociate.ExecuteAsync(this, _request),

            // Unknown commands, and BIND or UDP ASSOCIATE switched off by configuration.
            _ => FailAsync(ReplyCode.CommandNotSupported),
        };
    }
}
