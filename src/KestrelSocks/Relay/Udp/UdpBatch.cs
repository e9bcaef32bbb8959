using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets.Linux;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Batched datagram I/O for Linux: recvmmsg(2) takes up to <see cref="Slots"/> datagrams in one system call and
/// sendmmsg(2) sends what they produced in one more, where one datagram each way otherwise costs two or three.
/// Each relay loop owns one, in native memory that never moves, so the kernel is handed pointers straight into it;
/// a drain receives into it, relays in place and flushes before it moves on, so nothing outlives the drain.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe partial class UdpBatch : IDisposable
{
    public const int Slots = 16;
    public const int SlotSize = 64 * 1024;
    private const int NameSize = 32;
    private const int MessageDontWait = 0x40;
    private const int MessageTruncated = 0x20;

    // One IPV6_PKTINFO control message: struct cmsghdr (16 bytes on LP64) and struct in6_pktinfo (20). The slot is
    // padded to 8, but the length handed to the kernel is the message's own 36 bytes: sendmsg copies up to 36 bytes
    // of control data into a buffer on its stack and allocates for anything longer, once per datagram.
    private const int ControlSize = 40;
    private const int ControlLength = 16 + 20;
    private const int LevelIPv6 = 41;

    // Room for one SCM_TIMESTAMPNS control message per received datagram: struct cmsghdr and struct timespec.
    private const int ReceiveControlSize = 32;
    private const int LevelSocket = 1;
    private const int TimestampNanoseconds = 35;
    private const int IPv6PacketInfo = 50;

    private readonly byte* _data;
    private readonly MessageHeader* _receive;
    private readonly IoVector* _receiveVectors;
    private readonly byte* _receiveNames;
    private readonly byte* _receiveControl;
    private readonly MessageHeader* _send;
    private readonly IoVector* _sendVectors;
    private readonly byte* _sendNames;
    private readonly byte* _sendControl;
    private readonly int[] _payloadLengths = new int[Slots];
    private readonly bool[] _upstream = new bool[Slots];
    private readonly UdpAssociation?[] _owners = new UdpAssociation?[Slots];
    private int _queued;
    private int _disposed;

    public UdpBatch()
    {
        _data = (byte*)NativeMemory.AlignedAlloc(Slots * SlotSize, 64);
        _receive = (MessageHeader*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(MessageHeader)));
        _receiveVectors = (IoVector*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(IoVector)));
        _receiveNames = (byte*)NativeMemory.AllocZeroed(Slots * NameSize);
        _receiveControl = (byte*)NativeMemory.AllocZeroed(Slots * ReceiveControlSize);
        _send = (MessageHeader*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(MessageHeader)));
        _sendVectors = (IoVector*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(IoVector)));
        _sendNames = (byte*)NativeMemory.AllocZeroed(Slots * NameSize);
        _sendControl = (byte*)NativeMemory.AllocZeroed(Slots * ControlSize);
    }

    /// <summary>Datagrams queued and not yet flushed.</summary>
    public int Queued => _queued;

    /// <summary>
    /// While set, each datagram queued counts, once sent, to this association's totals and to
    /// <see cref="OwnersTraffic"/> rather than to the tally of the flush that sends it: for sends that wait in the batch
    /// for other associations' (the replies a relay loop sends out of its shared-port socket), so that one flush
    /// serves several associations.
    /// </summary>
    public UdpAssociation? Owner { get; set; }

    /// <summary>Where datagrams queued under an <see cref="Owner"/> are counted once sent, beside their association.</summary>
    public UdpTraffic? OwnersTraffic { get; set; }

    /// <summary>Slot <paramref name="index"/>'s whole buffer.</summary>
    public Span<byte> Slot(int index) => new(_data + (index * SlotSize), SlotSize);

    /// <summary>The sender's address of received datagram <paramref name="index"/>, as a native sockaddr.</summary>
    public ReadOnlySpan<byte> SourceName(int index) => new(_receiveNames + (index * NameSize), (int)_receive[index].Header.NameLength);

    /// <summary>Length of received datagram <paramref name="index"/>; -1 when it did not fit its slot and was cut.</summary>
    public int Length(int index) => (_receive[index].Header.Flags & MessageTruncated) != 0 ? -1 : (int)_receive[index].Length;

    /// <summary>
    /// When received datagram <paramref name="index"/> arrived, in nanoseconds since the Unix epoch, as the kernel
    /// stamped it (SO_TIMESTAMPNS on the socket); 0 when it carries no stamp.
    /// </summary>
    public long ArrivedAt(int index)
    {
        if (_receive[index].Header.ControlLength < ReceiveControlSize)
        {
            return 0;
        }

        var control = _receiveControl + (index * ReceiveControlSize);
        if (*(int*)(control + 8) != LevelSocket || *(int*)(control + 12) != TimestampNanoseconds)
        {
            return 0;
        }

        return (*(long*)(control + 16) * 1_000_000_000) + *(long*)(control + 24);
    }

    /// <summary>Asks the kernel to stamp each datagram <paramref name="socket"/> receives with its arrival time (<see cref="ArrivedAt"/>).</summary>
    public static void StampArrivals(Socket socket) => socket.SetRawSocketOption(LevelSocket, TimestampNanoseconds, [1, 0, 0, 0]);

    /// <summary>Now, on the clock of <see cref="ArrivedAt"/>.</summary>
    public static long Now() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>
    /// Receives up to <see cref="Slots"/> − <paramref name="first"/> datagrams without waiting, each into its slot at
    /// <paramref name="offset"/>, from slot <paramref name="first"/> on (the slots before it may hold queued sends).
    /// Returns how many arrived (0 when none were queued); they are indices <paramref name="first"/> onwards. Throws
    /// <see cref="SocketException"/> on a socket error and <see cref="ObjectDisposedException"/> when the socket is closed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Receive(Socket socket, int offset, int first = 0)
    {
        if ((uint)first >= Slots)
        {
            throw new ArgumentOutOfRangeException(nameof(first));
        }

        for (var i = first; i < Slots; i++)
        {
            _receiveVectors[i] = new IoVector { Base = _data + (i * SlotSize) + offset, Length = (nuint)(SlotSize - offset) };
            ref var header = ref _receive[i];
            header = default;
            header.Header.Name = _receiveNames + (i * NameSize);
            header.Header.NameLength = NameSize;
            header.Header.Vectors = _receiveVectors + i;
            header.Header.VectorCount = 1;
            header.Header.Control = _receiveControl + (i * ReceiveControlSize);
            header.Header.ControlLength = ReceiveControlSize;
        }

        using var lease = new DescriptorLease(socket.SafeHandle);
        while (true)
        {
            var count = recvmmsg(lease.Descriptor, _receive + first, (uint)(Slots - first), MessageDontWait, null);
            if (count >= 0)
            {
                return count;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.Interrupted)
            {
                continue;
            }

            if (errno == Errno.Again)
            {
                return 0;
            }

            throw new SocketException((int)Errno.ToSocketError(errno));
        }
    }

    /// <summary>
    /// Queues <paramref name="datagram"/>, which must lie in this batch's slots, for <paramref name="destination"/>
    /// (a native sockaddr). <paramref name="payloadLength"/> is what it counts as relayed once sent (the payload
    /// without a SOCKS header), <paramref name="upstream"/> which way. A 16-byte <paramref name="sourceAddress"/>
    /// (IPv6, or IPv4-mapped) is the local address it leaves from, for a socket bound to the wildcard address; empty
    /// leaves the choice to the kernel. False when the queue is full: flush first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryQueue(ReadOnlySpan<byte> datagram, int payloadLength, ReadOnlySpan<byte> destination, bool upstream = true, ReadOnlySpan<byte> sourceAddress = default)
    {
        if (_queued == Slots)
        {
            return false;
        }

        var i = _queued++;
        _payloadLengths[i] = payloadLength;
        _upstream[i] = upstream;
        _owners[i] = Owner;
        var name = _sendNames + (i * NameSize);
        destination.CopyTo(new Span<byte>(name, NameSize));
        _sendVectors[i] = new IoVector { Base = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(datagram)), Length = (nuint)datagram.Length };
        ref var header = ref _send[i];
        header = default;
        header.Header.Name = name;
        header.Header.NameLength = (uint)destination.Length;
        header.Header.Vectors = _sendVectors + i;
        header.Header.VectorCount = 1;
        if (sourceAddress.Length == 16)
        {
            var control = _sendControl + (i * ControlSize);
            new Span<byte>(control, ControlSize).Clear();
            *(nuint*)control = ControlLength;
            *(int*)(control + 8) = LevelIPv6;
            *(int*)(control + 12) = IPv6PacketInfo;
            sourceAddress.CopyTo(new Span<byte>(control + 16, 16));
            header.Header.Control = control;
            header.Header.ControlLength = ControlLength;
        }

        return true;
    }

    /// <summary>
    /// Sends everything queued on <paramref name="socket"/> and adds what went out to <paramref name="tally"/> (or, for
    /// datagrams queued under an <see cref="Owner"/>, to their owner's totals); each datagram the kernel refused is
    /// dropped and counted, and the rest still go out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Flush(Socket socket, SocksMetrics metrics, ref UdpTally tally)
    {
        if (_queued == 0)
        {
            return;
        }

        try
        {
            using var lease = new DescriptorLease(socket.SafeHandle);
            var next = 0;
            while (next < _queued)
            {
                var count = sendmmsg(lease.Descriptor, _send + next, (uint)(_queued - next), MessageDontWait);
                if (count > 0)
                {
                    for (var i = next; i < next + count; i++)
                    {
                        if (_owners[i] is null)
                        {
                            tally.Add(_upstream[i], _payloadLengths[i]);
                        }
                    }

                    CountOwners(next, next + count);
                    next += count;
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.Interrupted)
                {
                    continue;
                }

                // The datagram at the head failed (a full socket buffer among the reasons): drop it alone, go on.
                metrics.UdpDropped(UdpSends.ToDropReason(Errno.ToSocketError(errno)));
                next++;
            }
        }
        finally
        {
            Array.Clear(_owners, 0, _queued);
            _queued = 0;
        }
    }

    /// <summary>Forgets queued sends (the socket is gone).</summary>
    public void Clear()
    {
        Array.Clear(_owners, 0, _queued);
        _queued = 0;
    }

    /// <summary>Counts sent datagrams <paramref name="from"/> to <paramref name="to"/> (exclusive) that have owners: one addition per run of one owner.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CountOwners(int from, int to)
    {
        UdpAssociation? owner = null;
        var tally = default(UdpTally);
        for (var i = from; i < to; i++)
        {
            if (_owners[i] is not { } next)
            {
                continue;
            }

            if (next != owner)
            {
                owner?.CountSent(tally, OwnersTraffic);
                owner = next;
                tally = default;
            }

            tally.Add(_upstream[i], _payloadLengths[i]);
        }

        owner?.CountSent(tally, OwnersTraffic);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        NativeMemory.AlignedFree(_data);
        NativeMemory.Free(_receive);
        NativeMemory.Free(_receiveVectors);
        NativeMemory.Free(_receiveNames);
        NativeMemory.Free(_receiveControl);
        NativeMemory.Free(_send);
        NativeMemory.Free(_sendVectors);
        NativeMemory.Free(_sendNames);
        NativeMemory.Free(_sendControl);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int recvmmsg(int fd, MessageHeader* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sendmmsg(int fd, MessageHeader* messages, uint count, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHeader
    {
        public byte* Name;
        public uint NameLength;
        public IoVector* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct mmsghdr.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MessageHeader
    {
        public MsgHeader Header;
        public uint Length;
    }
}
