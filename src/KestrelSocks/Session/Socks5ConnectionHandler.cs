using System.Net;
using KestrelSocks.Diagnostics;
using Microsoft.AspNetCore.Connections;

namespace KestrelSocks.Session;

/// <summary>Kestrel's entry point for every SOCKS listener: admits the connection and runs its session.</summary>
internal sealed class Socks5ConnectionHandler : ConnectionHandler
{
    private readonly SessionServices _services;
    private readonly LogRateLimiter _rejectionLog;

    public Socks5ConnectionHandler(SessionServices services)
    {
        _services = services;

        // A refusal is the client's doing: a flood of them must not become a flood of log lines.
        _rejectionLog = new LogRateLimiter(services.TimeProvider, TimeSpan.FromSeconds(1));
    }

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var admission = _services.Admission;
        if (admission.TryAdmit((connection.RemoteEndPoint as IPEndPoint)?.Address, out var ticket) is { } reason)
        {
            // Refused before a byte is read: returning lets the transport close gracefully.
            _services.Metrics.ConnectionRejected(reason);
            if (reason == ConnectionRejectReason.DescriptorBudget)
            {
                _services.Metrics.DescriptorsRefused(DescriptorUse.Connection);
            }

            if (_rejectionLog.TryAcquire(out var suppressed))
            {
                SocksLog.ConnectionRejected(_services.Logger, connection.ConnectionId, connection.RemoteEndPoint,
                    MetricNames.GetRejectReasonName(reason), admission.GetLimit(reason), suppressed);
            }

            // Closed at once (RST), not gracefully: a graceful close waits a second for the client's FIN, and a flood
            // of refused connections would hold that many descriptors, past the budget and the reserve, until the
            // runtime itself cannot open one.
            connection.Abort(new ConnectionAbortedException($"Refused at accept: {MetricNames.GetRejectReasonName(reason)}."));
            return;
        }

        // The client's socket is closed by the transport, after the session; its descriptor goes back then.
        connection.ConnectionClosed.Register(static state => ((AdmissionTicket)state!).ConnectionClosed(), ticket);
        using (ticket)
        {
            await new Socks5Session(connection, _services, ticket!).RunAsync();
        }
    }
}
