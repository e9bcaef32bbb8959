using System.Diagnostics;
using System.Net.Sockets;
using KestrelSocks.LoadTest.Measurement;
using KestrelSocks.LoadTest.Payload;
using KestrelSocks.Protocol;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// Sends one step's datagrams at a fixed rate from a dedicated thread: every ~100 µs it sends exactly the
/// datagrams due by then, round robin over its associations, with synchronous SocketAddress-based SendTo (no
/// allocation, no thread-pool hop). When it cannot keep up it sends flat out and reports that it fell behind.
/// </summary>
internal sealed class UdpPacer
{
    private readonly UdpAssociationClient[] _associations;
    private readonly PayloadPattern _pattern;
    private readonly int _payloadLength;
    private readonly byte[] _header;
    private readonly double _rate;
    private readonly double _seconds;
    private readonly int _stepId;
    private readonly Thread _thread;

    public UdpPacer(UdpAssociationClient[] associations, PayloadPattern pattern, int payloadLength, System.Net.IPEndPoint echo, double rate, double seconds, int stepId, int index)
    {
        _associations = associations;
        _pattern = pattern;
        _payloadLength = payloadLength;
        _rate = rate;
        _seconds = seconds;
        _stepId = stepId;
        if (associations.Length > 0 && associations[0].Proxied)
        {
            _header = new byte[Socks5UdpHeader.MaxIPHeaderLength];
            var length = Socks5UdpHeader.Write(_header, 0, Socks5Address.FromEndPoint(echo));
            Array.Resize(ref _header, length);
        }
        else
        {
            _header = [];
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"udp-pacer-{index}", Priority = ThreadPriority.AboveNormal };
    }

    /// <summary>Datagrams attempted.</summary>
    public long Attempted { get; private set; }

    /// <summary>Seconds from the first send to the last.</summary>
    public double Elapsed { get; private set; }

    public bool FellBehind { get; private set; }

    public void Start() => _thread.Start();

    public void Join() => _thread.Join();

    private void Run()
    {
        var total = (long)Math.Round(_rate * _seconds);
        var buffer = GC.AllocateUninitializedArray<byte>(_header.Length + _payloadLength, pinned: true);
        _header.CopyTo(buffer, 0);
        var payload = buffer.AsSpan(_header.Length);
        var frequency = (double)Stopwatch.Frequency;
        var deadline = _seconds * 1.5 + 1;
        var start = Stopwatch.GetTimestamp();
        long sent = 0;
        var next = 0;
        while (sent < total)
        {
            var elapsed = (Stopwatch.GetTimestamp() - start) / frequency;
            if (elapsed > deadline)
            {
                FellBehind = true;
                break;
            }

            var due = Math.Min(total, (long)(elapsed * _rate) + 1);
            if (sent >= due)
            {
                NativeSleep.Microseconds(50);
                continue;
            }

            while (sent < due)
            {
                var association = _associations[next];
                next = next + 1 == _associations.Length ? 0 : next + 1;
                var sequence = association.NextSequence++;
                UdpDatagram.WriteStamp(payload, association.Index, _stepId, sequence);
                var position = UdpDatagram.PatternPosition(association.Index, _stepId, sequence, _payloadLength);
                _pattern.Slice(position, _payloadLength - UdpDatagram.StampLength).CopyTo(payload[UdpDatagram.StampLength..]);
                bool ok;
                try
                {
                    association.Home.Socket.SendTo(buffer, SocketFlags.None, association.Destination);
                    ok = true;
                }
                catch (SocketException)
                {
                    ok = false;
                }

                association.CountSend(ok);
                sent++;
            }
        }

        Attempted = sent;
        Elapsed = (Stopwatch.GetTimestamp() - start) / frequency;
        // A short stall that the pacer caught up with is not falling behind; 5 % under the rate is.
        FellBehind |= Elapsed > (_seconds * 1.05) + 0.02;
    }
}
