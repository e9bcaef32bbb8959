using System.Net.Sockets;
using KestrelSocks.Sockets;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// A pooled receive that only peeks one byte: it completes when a datagram is queued, without taking it, so a
/// waiting socket holds no datagram buffer. The pump that owns it then drains the socket into a pooled buffer.
/// </summary>
internal sealed class UdpReadinessEventArgs : SocketAsyncEventArgs
{
    public UdpReadinessEventArgs()
        : base(unsafeSuppressExecutionContextFlow: true)
    {
        SetBuffer(SocketReadiness.PeekBuffer);
        SocketFlags = SocketFlags.Peek;
    }

    public UdpSocketPump? Owner { get; set; }

    protected override void OnCompleted(SocketAsyncEventArgs e) => Owner?.OnReadable();
}
