using System.Runtime.Versioning;
using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Linux: a fixed set of relay loops (<see cref="UdpEventLoop"/>, by default one per core), each owning the sockets
/// of the associations placed on it; a new association goes to the loop with the fewest.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class UdpEventLoopEngine : IUdpEngine
{
    private readonly UdpEventLoop[] _loops;
    private readonly SharedUdpPort? _shared;

    public UdpEventLoopEngine(int loops, TimeSpan maxQueueDelay, SocksMetrics metrics, ILogger logger, SharedUdpPort? shared = null)
    {
        _shared = shared;
        _loops = new UdpEventLoop[loops];
        for (var i = 0; i < loops; i++)
        {
            _loops[i] = new UdpEventLoop(i, maxQueueDelay, metrics, logger, shared);
        }
    }

    public bool SetsSourceAddress => true;

    public int Attached => _loops.Sum(static loop => loop.Attached);

    public void Attach(UdpAssociation association)
    {
        if (association.UsesSharedPort && _shared is { } shared)
        {
            // The loop whose shared socket the client's datagrams are steered to. A client whose port is not yet
            // known is placed by the loop that learns it, from its first datagram.
            if (association.Settings.ClientPort != 0)
            {
                _loops[shared.IndexFor(association.Settings.ClientPort)].Attach(association);
            }

            return;
        }

        var least = _loops[0];
        for (var i = 1; i < _loops.Length; i++)
        {
            if (_loops[i].Attached < least.Attached)
            {
                least = _loops[i];
            }
        }

        least.Attach(association);
    }

    public void Detach(UdpAssociation association) => UdpEventLoop.OwnerOf(association)?.Detach(association);

    public void Schedule(UdpAssociation association) => UdpEventLoop.OwnerOf(association)?.Schedule(association);

    public void Dispose()
    {
        foreach (var loop in _loops)
        {
            loop.Dispose();
        }
    }
}
