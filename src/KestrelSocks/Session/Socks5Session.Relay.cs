using System.Net.Sockets;
using KestrelSocks.Configuration;
using KestrelSocks.Relay;
using KestrelSocks.Transport;

namespace KestrelSocks.Session;

/// <summary>The TCP tunnel a CONNECT or BIND ends in: its kind chosen from the transport and the relay mode.</summary>
internal sealed partial class Socks5Session
{
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
}
