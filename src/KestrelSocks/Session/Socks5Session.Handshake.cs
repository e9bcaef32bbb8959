using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Protocol;

namespace KestrelSocks.Session;

/// <summary>Greeting, method selection, authentication and the request, over partial reads, within the handshake timeout.</summary>
internal sealed partial class Socks5Session
{
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

    private void RecordHandshakeFailure(HandshakeError error)
    {
        _services.Metrics.HandshakeFailed(error);
        SocksLog.HandshakeFailed(_services.Logger, ConnectionId, _connection.RemoteEndPoint, MetricNames.GetErrorName(error));
    }
}
