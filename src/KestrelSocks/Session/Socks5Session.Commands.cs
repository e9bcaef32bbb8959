using System.IO.Pipelines;
using System.Net.Sockets;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Session;

/// <summary>What commands see of their session: replies, refusals, descriptors, further requests, and the client's close.</summary>
internal sealed partial class Socks5Session
{
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
                    _onFirstRequest = false;
                    _replyCounted = false;
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

    private void RecordReply(ReplyCode reply)
    {
        // Each request is counted by its first reply (BIND sends two), further UDP ASSOCIATE requests on the connection
        // included; the session's outcome, for its log line and duration, is the first request's last reply.
        if (!_replyCounted)
        {
            _replyCounted = true;
            _services.Metrics.RequestAnswered(_onFirstRequest ? _request.Command : _nextRequest!.Value.Command, reply);
        }

        if (_onFirstRequest)
        {
            _reply = reply;
        }
    }
}
