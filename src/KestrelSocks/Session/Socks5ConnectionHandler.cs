using KestrelSocks.Diagnostics;
using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Session;

/// <summary>Kestrel's entry point for every SOCKS listener: admits the connection and runs its session.</summary>
internal sealed class Socks5ConnectionHandler : ConnectionHandler
{
    private readonly SessionServices _services;
    private int _activeSessions;

    public Socks5ConnectionHandler(SessionServices services)
    {
        _services = services;
    }

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        if (Interlocked.Increment(ref _activeSessions) > _services.MaxConcurrentSessions)
        {
            // Refused before a byte is read: returning lets the transport close gracefully.
            Interlocked.Decrement(ref _activeSessions);
            _services.Metrics.ConnectionRejected(ConnectionRejectReason.SessionLimit);
            SocksLog.ConnectionRejected(_services.Logger, connection.ConnectionId, connection.RemoteEndPoint,
                MetricNames.GetRejectReasonName(ConnectionRejectReason.SessionLimit), _services.MaxConcurrentSessions);
            return;
        }

        try
        {
            await new Socks5Session(connection, _services).RunAsync();
        }
        finally
        {
            Interlocked.Decrement(ref _activeSessions);
        }
    }
}
