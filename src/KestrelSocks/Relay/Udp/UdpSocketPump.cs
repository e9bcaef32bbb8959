using System.Net.Sockets;
using KestrelSocks.Sockets;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Keeps one readiness receive pending on a relay socket and drains the socket whenever it completes.
/// Receiving never waits on sending: datagrams are sent with non-blocking calls from the drain itself.
/// After a drain budget the pump yields to the thread pool, so one busy association cannot starve the others.
/// The portable engine's way of waiting (<see cref="UdpPortableEngine"/>).
/// </summary>
internal sealed class UdpSocketPump : IThreadPoolWorkItem
{
    private readonly Socket _socket;
    private readonly IUdpDrainer _drainer;
    private readonly UdpEventArgsPool _pool;
    private UdpReadinessEventArgs? _args;
    private volatile bool _stopped;
    private int _released;

    public UdpSocketPump(Socket socket, IUdpDrainer drainer, UdpEventArgsPool pool)
    {
        _socket = socket;
        _drainer = drainer;
        _pool = pool;
    }

    public void Start()
    {
        _args = _pool.Rent();
        _args.Owner = this;
        Arm();
    }

    /// <summary>Stops after the pending receive; the owner closes the socket, which completes it.</summary>
    public void Stop() => _stopped = true;

    public void OnReadable()
    {
        if (!Succeeded())
        {
            return;
        }

        // With inline completions (the server's default) this runs on a socket engine thread, which every socket of
        // the process shares. A drain is a whole batch of datagrams both ways, so it goes to the thread pool, where
        // the two directions of an association and other associations drain in parallel.
        if (SocketEngineThread.IsCurrent)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return;
        }

        Run();
    }

    void IThreadPoolWorkItem.Execute() => Run();

    private void Run()
    {
        if (_stopped)
        {
            Release();
            return;
        }

        if (!TryDrain(out var more))
        {
            Release();
            return;
        }

        if (more)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return;
        }

        Arm();
    }

    private void Arm()
    {
        while (!_stopped)
        {
            bool pending;
            try
            {
                // A completed receive overwrites SocketFlags with the flags it received (Truncated, say); without
                // Peek the next receive would consume a datagram into the one-byte buffer and lose it.
                _args!.SocketFlags = SocketFlags.Peek;
                pending = _socket.ReceiveAsync(_args);
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            if (pending)
            {
                return;
            }

            if (!Succeeded())
            {
                return;
            }

            if (!TryDrain(out var more))
            {
                break;
            }

            if (more)
            {
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                return;
            }
        }

        Release();
    }

    /// <summary>Drains; false when the socket is gone. Nothing thrown here may reach the thread pool, which would end the process.</summary>
    private bool TryDrain(out bool more)
    {
        more = false;
        try
        {
            more = _drainer.Drain(_socket);
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        catch (SocketException e)
        {
            if (!_stopped)
            {
                _drainer.OnSocketFailed(_socket, e.SocketErrorCode);
            }

            return false;
        }
    }

    private bool Succeeded()
    {
        var error = _args!.SocketError;
        switch (error)
        {
            case SocketError.Success:
            case SocketError.MessageSize:
            // An ICMP error from an earlier send surfaces on the next receive: the socket itself is fine.
            case SocketError.ConnectionReset:
            case SocketError.ConnectionRefused:
            case SocketError.HostUnreachable:
            case SocketError.NetworkUnreachable:
                return !_stopped || ReleaseAndFalse();
            default:
                if (!_stopped)
                {
                    _drainer.OnSocketFailed(_socket, error);
                }

                Release();
                return false;
        }
    }

    private bool ReleaseAndFalse()
    {
        Release();
        return false;
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0 && _args is { } args)
        {
            _pool.Return(args);
        }
    }
}
