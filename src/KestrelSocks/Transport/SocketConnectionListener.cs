using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Transport;

internal sealed class SocketConnectionListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly TransportOptions _options;

    // One set per listener rather than per connection: options are immutable and pipes only read them.
    private readonly PipeOptions _inputOptions;
    private readonly PipeOptions _outputOptions;
    private int _closed;

    public SocketConnectionListener(Socket listenSocket, TransportOptions options)
    {
        _listenSocket = listenSocket;
        _options = options;
        _inputOptions = SocketConnection.CreateInputOptions(options);
        _outputOptions = SocketConnection.CreateOutputOptions(options);
        EndPoint = listenSocket.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _listenSocket.AcceptAsync(cancellationToken);
            }
            catch (ObjectDisposedException)
            {
                // Unbound: Kestrel stops its accept loop on null.
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
            {
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The client gave up before we accepted it.
                continue;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                // Out of descriptors: back off instead of spinning; established sessions keep running and free some.
                await Task.Delay(50, cancellationToken);
                continue;
            }

            accepted.NoDelay = true;
            var connection = new SocketConnection(accepted, _options, _inputOptions, _outputOptions);
            connection.Start();
            return connection;
        }
    }

    /// <summary>Closes the listening socket; a pending accept then returns null. False when it was already closed.</summary>
    public bool Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return false;
        }

        _listenSocket.Dispose();
        return true;
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        Close();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }
}
