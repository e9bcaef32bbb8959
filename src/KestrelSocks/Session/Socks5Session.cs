using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using KestrelSocks.Authentication;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using KestrelSocks.Configuration;
using KestrelSocks.Limits;
using KestrelSocks.Relay;
using KestrelSocks.Sockets;
using KestrelSocks.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Session;

/// <summary>
/// One SOCKS5 connection: greeting → authentication → request, then the command. Every bad input gets a defined
/// answer (method FF, auth status 01, or a REP code) or a close, and is counted.
/// </summary>
internal sealed class Socks5Session
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

    /// <summary>Writes a reply and flushes it. False when the client is gone.</summary>
    public async ValueTask<bool> ReplyAsync(ReplyCode reply, Socks5Address boundAddress)
    {
        var output = _connection.Transport.Output;
        Socks5Writer.WriteReply(output, reply, boundAddress);
        RecordReply(reply);
        var flush = await output.FlushAsync();
        return !flush.IsCompleted && !flush.IsCanceled;
    }

    /// <summary>Writes a reply that names no address (a refusal that keeps the connection open) and flushes it.</summary>
    public async ValueTask<bool> ReplyAsync(ReplyCode reply)
    {
        var output = _connection.Transport.Output;
        Socks5Writer.WriteReply(output, reply);
        RecordReply(reply);
        var flush = await output.FlushAsync();
        return !flush.IsCompleted && !flush.IsCanceled;
    }

    /// <summary>
    /// Takes descriptors from the budget for a socket the command is about to open; false (counted) when there is no
    /// room. They are given back when the session ends.
    /// </summary>
    public bool TryTakeDescriptors(int count, DescriptorUse use)
    {
        if (Admission.TryTakeDescriptors(count))
        {
            return true;
        }

        _services.Metrics.DescriptorsRefused(use);
        return false;
    }

    /// <summary>Counts a request a limit refused, and logs it at a bounded rate.</summary>
    public void RecordRefusal(byte command, RequestRefusalReason reason)
    {
        _services.Metrics.RequestRefused(command, reason);
        if (_services.RefusalLog.TryAcquire(out var suppressed))
        {
            SocksLog.RequestRefused(_services.Logger, ConnectionId, _connection.RemoteEndPoint, MetricNames.GetCommandName(command),
                MetricNames.GetRefusalReasonName(reason), suppressed);
        }
    }

    /// <summary>Bytes a command relayed outside a TCP tunnel (UDP payloads), for the session's log line.</summary>
    public void AddRelayedBytes(long up, long down)
    {
        _extraBytesUp += up;
        _extraBytesDown += down;
    }

    /// <summary>
    /// Reads a further request on a connection whose first request has been answered (the multi-association
    /// extension of UDP ASSOCIATE). Null when the client closes, sends bytes that are not a request (answered and
    /// closed), or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task<Socks5Request?> ReadNextRequestAsync(CancellationToken cancellationToken)
    {
        _state = HandshakeState.Request;
        try
        {
            switch (await ReadStepAsync(cancellationToken))
            {
                case HandshakeStep.RequestReady:
                    return _nextRequest!.Value;
                case HandshakeStep.Failed:
                    await _connection.Transport.Output.CompleteAsync();
                    return null;
                default:
                    return null;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            return null;
        }
    }

    /// <summary>Answers the request with a failure code and closes the connection once the reply is flushed.</summary>
    public async Task FailAsync(ReplyCode reply)
    {
        var output = _connection.Transport.Output;
        Socks5Writer.WriteReply(output, reply);
        RecordReply(reply);
        await output.FlushAsync();
        await output.CompleteAsync();
    }

    /// <summary>Ends a session that will get no reply (the server is shutting down).</summary>
    public void EndWithoutReply(HandshakeError reason)
    {
        RecordHandshakeFailure(reason);
        _connection.Transport.Output.Complete();
    }

    public async Task RelayAsync(Socket upstream)
    {
        using var tunnel = await CreateTunnelAsync(upstream);
        _tunnel = tunnel;
        await tunnel.RunAsync();
    }

    private async Task<Tunnel> CreateTunnelAsync(Socket upstream)
    {
        if (_services.RelayMode == RelayMode.Pipe || _connection.Features.Get<ISocketDetachFeature>() is not { } detach)
        {
            return new PipeTunnel(_connection, upstream, _services.IdleTimeout, _services.Metrics, _services.TimeProvider,
                _allowance?.Upstream, _allowance?.Downstream);
        }

        DetachedSocket client;
        try
        {
            client = await detach.DetachAsync();
        }
        catch
        {
            upstream.Dispose();
            throw;
        }

        // Bytes the client sent right behind its request were read before the hand-over: they go first.
        var pipes = _services.RelayMode == RelayMode.Socket ? null : _services.SplicePipes;
        return new SocketTunnel(_connection, client.Socket, upstream, client.EarlyData, client.EarlyLength, client.InputEnded, pipes,
            _services.IdleTimeout, _services.Metrics, _services.TimeProvider, _allowance?.Upstream, _allowance?.Downstream);
    }

    /// <summary>
    /// Watches the control connection while a command waits (BIND's accept, a UDP association): true when the
    /// client closes it, false once <paramref name="stopWatching"/> fires. Bytes the client sends meanwhile are
    /// examined, not consumed, so they still reach a tunnel that follows.
    /// </summary>
    public async Task<bool> WaitForClientCloseAsync(CancellationToken stopWatching)
    {
        var input = _connection.Transport.Input;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(stopWatching);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                return true;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted)
            {
                return true;
            }
        }
    }

    public void LogConnectFailed(ReplyCode reply, Exception? exception)
    {
        // The destination's text is built only for a log that will be written.
        if (_services.Logger.IsEnabled(LogLevel.Debug))
        {
            SocksLog.ConnectFailed(_services.Logger, ConnectionId, LogText.Destination(_request.Destination), MetricNames.GetReplyName(reply), exception);
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

    private async Task<bool> ReadRequestAsync()
    {
        var output = _connection.Transport.Output;
        using var handshakeTimeout = TimeoutScope.Start(_services.HandshakeTimeout, _services.TimeProvider, CloseRequested);
        try
        {
            switch (await ReadStepAsync(handshakeTimeout.Token))
            {
                case HandshakeStep.RequestReady:
                    _hasRequest = true;
                    return true;
                case HandshakeStep.Failed:
                    await output.CompleteAsync();
                    return false;
                default:
                    RecordHandshakeFailure(HandshakeError.ClientClosed);
                    await output.CompleteAsync();
                    return false;
            }
        }
        catch (OperationCanceledException)
        {
            RecordHandshakeFailure(CloseRequested.IsCancellationRequested ? HandshakeError.Shutdown : HandshakeError.Timeout);
            await output.CompleteAsync();
            return false;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            RecordHandshakeFailure(HandshakeError.ClientClosed);
            return false;
        }
    }

    /// <summary>
    /// Reads and answers messages until a request is ready or the handshake failed. Returns
    /// <see cref="HandshakeStep.NeedMoreBytes"/> only when the client closed before a whole message arrived.
    /// </summary>
    private async Task<HandshakeStep> ReadStepAsync(CancellationToken cancellationToken)
    {
        var input = _connection.Transport.Input;
        var output = _connection.Transport.Output;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            HandshakeStep step;
            try
            {
                step = ParseAvailable(ref buffer, output);
                consumed = buffer.Start;
                if (step != HandshakeStep.NeedMoreBytes)
                {
                    // Bytes behind the request (or the credentials) stay unexamined: the tunnel's first payload, or the request.
                    examined = consumed;
                }
            }
            finally
            {
                input.AdvanceTo(consumed, examined);
            }

            await output.FlushAsync(cancellationToken);
            if (step == HandshakeStep.CredentialsReady)
            {
                if (!await AuthenticateAsync(cancellationToken))
                {
                    return HandshakeStep.Failed;
                }

                // A request pipelined behind the credentials is still in the pipe, unexamined: the next read has it.
                continue;
            }

            if (step != HandshakeStep.NeedMoreBytes || result.IsCompleted)
            {
                return step;
            }
        }
    }

    /// <summary>
    /// Parses every whole message at hand, answering each, until the request or the credentials are read, a message is
    /// incomplete, or the handshake fails. A client may pipeline greeting, credentials and request in one segment.
    /// </summary>
    private HandshakeStep ParseAvailable(ref ReadOnlySequence<byte> buffer, PipeWriter output)
    {
        try
        {
            while (true)
            {
                switch (_state)
                {
                    case HandshakeState.Greeting:
                        if (!Socks5Parser.TryParseGreeting(ref buffer, out var greeting))
                        {
                            return HandshakeStep.NeedMoreBytes;
                        }

                        var method = SelectMethod(greeting.Methods);
                        Socks5Writer.WriteMethodSelection(output, method);
                        if (method == AuthMethod.NoAcceptableMethods)
                        {
                            RecordHandshakeFailure(HandshakeError.NoAcceptableMethod);
                            return HandshakeStep.Failed;
                        }

                        _state = method == AuthMethod.UsernamePassword ? HandshakeState.Authentication : HandshakeState.Request;
                        break;

                    case HandshakeState.Authentication:
                        // The check is slow by design, so it is not made here but by the read loop, asynchronously.
                        return Socks5Parser.TryParseUsernamePassword(ref buffer, out (_credentials ??= new()).Value)
                            ? HandshakeStep.CredentialsReady
                            : HandshakeStep.NeedMoreBytes;

                    case HandshakeState.Request:
                        var parsed = _hasRequest
                            ? Socks5Parser.TryParseRequest(ref buffer, out (_nextRequest ??= new()).Value)
                            : Socks5Parser.TryParseRequest(ref buffer, out _request);
                        if (!parsed)
                        {
                            return HandshakeStep.NeedMoreBytes;
                        }

                        return HandshakeStep.RequestReady;
                }
            }
        }
        catch (Socks5ProtocolException e)
        {
            return OnProtocolError(e.Error, output);
        }
    }

    /// <summary>Checks the credentials just read and answers them. False when they are refused (status 01 written).</summary>
    private async ValueTask<bool> AuthenticateAsync(CancellationToken cancellationToken)
    {
        var credentials = _credentials!;
        _credentials = null;
        var identity = await _services.Authenticator.AuthenticateAsync(credentials, RemoteEndPoint?.Address, cancellationToken);
        var output = _connection.Transport.Output;
        Socks5Writer.WriteUsernamePasswordStatus(output, identity is null ? (byte)0x01 : (byte)0x00);
        await output.FlushAsync(cancellationToken);
        if (identity is null)
        {
            RecordHandshakeFailure(HandshakeError.AuthenticationFailed);
            return false;
        }

        _identity = identity;
        _state = HandshakeState.Request;
        return true;
    }

    private HandshakeStep OnProtocolError(Socks5Error error, PipeWriter output)
    {
        switch (_state)
        {
            case HandshakeState.Greeting:
                // Not SOCKS5 (a SOCKS4 client, TLS, HTTP): there is no answer it would understand. Close.
                RecordHandshakeFailure(HandshakeError.BadVersion);
                break;
            case HandshakeState.Authentication:
                Socks5Writer.WriteUsernamePasswordStatus(output, 0xFF);
                RecordHandshakeFailure(HandshakeError.BadVersion);
                break;
            default:
                if (!_hasRequest)
                {
                    // The parser may have filled in the command before it threw: a bad request is counted as no command.
                    _request = default;
                }

                var reply = error == Socks5Error.UnsupportedAddressType ? ReplyCode.AddressTypeNotSupported : ReplyCode.GeneralFailure;
                Socks5Writer.WriteReply(output, reply);
                RecordReply(reply);
                RecordHandshakeFailure(error switch
                {
                    Socks5Error.UnsupportedAddressType => HandshakeError.UnsupportedAddressType,
                    Socks5Error.InvalidVersion => HandshakeError.BadVersion,
                    _ => HandshakeError.MalformedRequest,
                });
                break;
        }

        return HandshakeStep.Failed;
    }

    private AuthMethod SelectMethod(MethodSet offered)
    {
        // Where both are allowed, an identified user beats an anonymous one.
        if (_services.AllowUsernamePassword && offered.Contains(AuthMethod.UsernamePassword))
        {
            return AuthMethod.UsernamePassword;
        }

        if (_services.AllowAnonymous && offered.Contains(AuthMethod.NoAuthentication))
        {
            return AuthMethod.NoAuthentication;
        }

        return AuthMethod.NoAcceptableMethods;
    }

    private void RecordReply(ReplyCode reply)
    {
        // BIND sends two replies: the first decides how the request is counted, the last is the session's outcome.
        if (_reply is null)
        {
            _services.Metrics.RequestAnswered(_request.Command, reply);
        }

        _reply = reply;
    }

    private void RecordHandshakeFailure(HandshakeError error)
    {
        _services.Metrics.HandshakeFailed(error);
        SocksLog.HandshakeFailed(_services.Logger, ConnectionId, _connection.RemoteEndPoint, MetricNames.GetErrorName(error));
    }
}
