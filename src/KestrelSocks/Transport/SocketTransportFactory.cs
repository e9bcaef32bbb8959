using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Transport;

/// <summary>
/// Kestrel's transport for IP endpoints. Kestrel's own socket transport shuts a socket down in both directions
/// when the application completes its output, which loses TCP half-close; a SOCKS tunnel must keep reading from a
/// client after the destination has finished sending. This transport sends FIN when output completes and keeps
/// receiving until the peer's FIN, so each direction of a tunnel ends on its own.
/// </summary>
internal sealed class SocketTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly TransportOptions _options;
    private readonly Lock _gate = new();
    private readonly List<SocketConnectionListener> _listeners = [];

    public SocketTransportFactory(IOptions<KestrelSocksOptions> options)
    {
        _options = options.Value.Transport;
    }

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ipEndPoint)
        {
            throw new NotSupportedException($"The KestrelSocks transport listens on IP endpoints only, not {endpoint.GetType().Name}.");
        }

        var socket = new Socket(ipEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ipEndPoint.Address.Equals(IPAddress.IPv6Any))
            {
                // [::] takes IPv4 clients too, as Kestrel's ListenAnyIP does.
                socket.DualMode = true;
            }

            socket.Bind(ipEndPoint);
            socket.Listen(_options.Backlog);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(e.Message, e);
        }
        catch (SocketException e)
        {
            // Kestrel names the address only for an address in use; the start failure line needs it for every reason.
            socket.Dispose();
            throw new IOException($"Failed to bind to address {ipEndPoint}: {e.Message}", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new SocketConnectionListener(socket, _options);
        lock (_gate)
        {
            _listeners.Add(listener);
        }

        return new ValueTask<IConnectionListener>(listener);
    }

    /// <summary>
    /// Closes the listening sockets bound to <paramref name="endPoints"/>, ahead of Kestrel's own stop: new connections
    /// to them are refused, the accept loops end, and the connections already accepted, and every other listener (the
    /// admin endpoint), carry on. Returns how many were closed.
    /// </summary>
    public int CloseListeners(IReadOnlyCollection<IPEndPoint> endPoints)
    {
        lock (_gate)
        {
            var closed = 0;
            foreach (var listener in _listeners)
            {
                if (endPoints.Contains(listener.EndPoint) && listener.Close())
                {
                    closed++;
                }
            }

            return closed;
        }
    }
}
