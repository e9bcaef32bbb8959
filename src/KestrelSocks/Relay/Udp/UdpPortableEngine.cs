using System.Buffers;
using System.Net;
using System.Net.Sockets;
using KestrelSocks.Diagnostics;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Anywhere: each socket keeps one pooled readiness receive pending (<see cref="UdpSocketPump"/>) and is drained
/// with non-blocking receives and sends, one datagram per system call, on the thread pool. An association's drains
/// hold its <see cref="UdpAssociation.Gate"/>, so its two sockets never drain at once.
/// </summary>
internal sealed class UdpPortableEngine : IUdpEngine
{
    private readonly UdpEventArgsPool _pool;
    private readonly UdpTraffic _traffic;
    private int _attached;

    public UdpPortableEngine(UdpEventArgsPool pool, SocksMetrics metrics)
    {
        _pool = pool;
        _traffic = metrics.CreateUdpTraffic();
    }

    public bool SetsSourceAddress => false;

    public int Attached => Volatile.Read(ref _attached);

    public void Attach(UdpAssociation association)
    {
        var io = new Drainer(association, _traffic);
        association.EngineState = io;
        Interlocked.Increment(ref _attached);
        io.Start(_pool);
    }

    public void Detach(UdpAssociation association)
    {
        if (association.EngineState is Drainer io)
        {
            association.EngineState = null;
            io.Stop();
            Interlocked.Decrement(ref _attached);
        }
    }

    public void Schedule(UdpAssociation association)
    {
        if (association.EngineState is Drainer io)
        {
            ThreadPool.UnsafeQueueUserWorkItem(io, preferLocal: false);
        }
    }

    public void Dispose()
    {
    }

    private sealed class Drainer : IUdpDrainer, IThreadPoolWorkItem
    {
        private const int BufferSize = 64 * 1024;
        private const int DrainBudget = 64;

        private readonly UdpAssociation _association;
        private readonly UdpTraffic _traffic;
        private readonly SocketAddress _from;
        private readonly SocketAddress? _outboundFrom;
        private UdpSocketPump? _clientPump;
        private UdpSocketPump? _outboundPump;

        public Drainer(UdpAssociation association, UdpTraffic traffic)
        {
            _association = association;
            _traffic = traffic;
            _from = new SocketAddress(association.ClientSocket.AddressFamily);
            _outboundFrom = association.SharesOneSocket ? null : new SocketAddress(association.OutboundSocket.AddressFamily);
        }

        public void Start(UdpEventArgsPool pool)
        {
            _clientPump = new UdpSocketPump(_association.ClientSocket, this, pool);
            _outboundPump = _association.SharesOneSocket ? null : new UdpSocketPump(_association.OutboundSocket, this, pool);
            _clientPump.Start();
            _outboundPump?.Start();
        }

        /// <summary>The pending receives complete when the owner closes the sockets, and hand their args back then.</summary>
        public void Stop()
        {
            _clientPump?.Stop();
            _outboundPump?.Stop();
        }

        public bool Drain(Socket socket)
        {
            lock (_association.Gate)
            {
                return DrainLocked(socket);
            }
        }

        public void OnSocketFailed(Socket socket, SocketError error) => _association.OnSocketFailed(error);

        void IThreadPoolWorkItem.Execute()
        {
            var sends = new UdpSends(batch: null);
            try
            {
                lock (_association.Gate)
                {
                    _association.RunScheduled(ref sends);
                }
            }
            finally
            {
                _association.Count(sends, _traffic);
            }
        }

        private bool DrainLocked(Socket socket)
        {
            var from = socket == _association.ClientSocket ? _from : _outboundFrom!;
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            var sends = new UdpSends(batch: null);
            try
            {
                for (var i = 0; i < DrainBudget; i++)
                {
                    if (i > 0 && socket.Available == 0)
                    {
                        return false;
                    }

                    int received;
                    try
                    {
                        received = socket.ReceiveFrom(buffer.AsSpan(UdpAssociation.HeaderRoom, BufferSize - UdpAssociation.HeaderRoom), SocketFlags.None, from);
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                    {
                        return false;
                    }
                    catch (SocketException e) when (UdpErrors.IsTransient(e.SocketErrorCode))
                    {
                        continue;
                    }

                    _association.OnDatagram(socket, buffer.AsSpan(0, BufferSize), received, from.Buffer.Span[..from.Size], ref sends);
                }

                return socket.Available > 0;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _association.Count(sends, _traffic);
            }
        }
    }
}
