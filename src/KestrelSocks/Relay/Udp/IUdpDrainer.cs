using System.Net.Sockets;

namespace KestrelSocks.Relay.Udp;

/// <summary>What a pump calls when its socket has datagrams.</summary>
internal interface IUdpDrainer
{
    /// <summary>Takes queued datagrams, at most a budget's worth. True when datagrams are still queued.</summary>
    bool Drain(Socket socket);

    /// <summary>The socket failed for good (not a closed association).</summary>
    void OnSocketFailed(Socket socket, SocketError error);
}
