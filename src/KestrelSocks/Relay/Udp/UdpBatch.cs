using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using KestrelSocks.Diagnostics;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// Batched datagram I/O for Linux: recvmmsg(2) takes up to <see cref="Slots"/> datagrams in one system call and
/// sendmmsg(2) sends what a drain produced in one more, where one datagram each way otherwise costs two or three.
/// One instance per thread, in native memory that never moves, so the kernel can be handed pointers straight into
/// it; a drain receives into it, relays in place and flushes before it returns, so nothing outlives the call.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe partial class UdpBatch
{
    public const int Slots = 16;
    public const int SlotSize = 64 * 1024;
    private const int NameSize = 32;
    private const int MessageDontWait = 0x40;
    private const int MessageTruncated = 0x20;
    private const int ErrorAgain = 11;
    private const int ErrorInterrupted = 4;

    [ThreadStatic]
    private static UdpBatch? _current;

    private readonly byte* _data;
    private readonly MessageHeader* _receive;
    private readonly IoVector* _receiveVectors;
    private readonly byte* _receiveNames;
    private readonly MessageHeader* _send;
    private readonly IoVector* _sendVectors;
    private readonly byte* _sendNames;
    private readonly int[] _payloadLengths = new int[Slots];
    private int _queued;

    private UdpBatch()
    {
        // Lives as long as its thread pool thread; threads are few and long-lived, so this is never freed.
        _data = (byte*)NativeMemory.AlignedAlloc(Slots * SlotSize, 64);
        _receive = (MessageHeader*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(MessageHeader)));
        _receiveVectors = (IoVector*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(IoVector)));
        _receiveNames = (byte*)NativeMemory.AllocZeroed(Slots * NameSize);
        _send = (MessageHeader*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(MessageHeader)));
        _sendVectors = (IoVector*)NativeMemory.AllocZeroed((nuint)(Slots * sizeof(IoVector)));
        _sendNames = (byte*)NativeMemory.AllocZeroed(Slots * NameSize);
    }

    public static UdpBatch Current => _current ??= new UdpBatch();

    /// <summary>Slot <paramref name="index"/>'s whole buffer.</summary>
    public Span<byte> Slot(int index) => new(_data + (index * SlotSize), SlotSize);

    /// <summary>The sender's address of received datagram <paramref name="index"/>, as a native sockaddr.</summary>
    public ReadOnlySpan<byte> SourceName(int index) => new(_receiveNames + (index * NameSize), (int)_receive[index].Header.NameLength);

    /// <summary>Length of received datagram <paramref name="index"/>; -1 when it did not fit its slot and was cut.</summary>
    public int Length(int index) => (_receive[index].Header.Flags & MessageTruncated) != 0 ? -1 : (int)_receive[index].Length;

    /// <summary>
    /// Receives up to <see cref="Slots"/> datagrams without waiting, each into its slot at <paramref name="offset"/>.
    /// Returns how many arrived (0 when none were queued). Throws <see cref="SocketException"/> on a socket error.
    /// </summary>
    public int Receive(Socket socket, int offset)
    {
        for (var i = 0; i < Slots; i++)
        {
            _receiveVectors[i] = new IoVector { Base = _data + (i * SlotSize) + offset, Length = (nuint)(SlotSize - offset) };
            ref var header = ref _receive[i];
            header = default;
            header.Header.Name = _receiveNames + (i * NameSize);
            header.Header.NameLength = NameSize;
            header.Header.Vectors = _receiveVectors + i;
            header.Header.VectorCount = 1;
        }

        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            while (true)
            {
                var count = recvmmsg((int)handle.DangerousGetHandle(), _receive, Slots, MessageDontWait, null);
                if (count >= 0)
                {
                    return count;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == ErrorInterrupted)
                {
                    continue;
                }

                if (errno == ErrorAgain)
                {
                    return 0;
                }

                throw new SocketException((int)ToSocketError(errno));
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="datagram"/>, which must lie in this batch's slots, for <paramref name="destination"/>
    /// (a native sockaddr). <paramref name="payloadLength"/> is what it counts as relayed once sent (the payload
    /// without a SOCKS header). False when the queue is full: flush first.
    /// </summary>
    public bool TryQueue(ReadOnlySpan<byte> datagram, int payloadLength, ReadOnlySpan<byte> destination)
    {
        if (_queued == Slots)
        {
            return false;
        }

        var i = _queued++;
        _payloadLengths[i] = payloadLength;
        var name = _sendNames + (i * NameSize);
        destination.CopyTo(new Span<byte>(name, NameSize));
        _sendVectors[i] = new IoVector { Base = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(datagram)), Length = (nuint)datagram.Length };
        ref var header = ref _send[i];
        header = default;
        header.Header.Name = name;
        header.Header.NameLength = (uint)destination.Length;
        header.Header.Vectors = _sendVectors + i;
        header.Header.VectorCount = 1;
        return true;
    }

    /// <summary>
    /// Sends everything queued on <paramref name="socket"/>. Returns the payload bytes sent; each datagram the kernel
    /// refused is dropped and counted, and the rest still go out.
    /// </summary>
    public long Flush(Socket socket, SocksMetrics metrics, out int sent)
    {
        sent = 0;
        long bytes = 0;
        var handle = socket.SafeHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = (int)handle.DangerousGetHandle();
            var next = 0;
            while (next < _queued)
            {
                var count = sendmmsg(fd, _send + next, (uint)(_queued - next), MessageDontWait);
                if (count > 0)
                {
                    for (var i = next; i < next + count; i++)
                    {
                        bytes += _payloadLengths[i];
                    }

                    sent += count;
                    next += count;
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == ErrorInterrupted)
                {
                    continue;
                }

                // The datagram at the head failed; drop it alone and go on with the rest.
                metrics.UdpDropped(UdpAssociation.ToDropReason(ToSocketError(errno)));
                next++;
            }
        }
        finally
        {
            _queued = 0;
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return bytes;
    }

    /// <summary>Forgets queued sends (the socket is gone).</summary>
    public void Clear() => _queued = 0;

    private static SocketError ToSocketError(int errno) => errno switch
    {
        ErrorAgain => SocketError.WouldBlock,
        90 => SocketError.MessageSize,
        111 => SocketError.ConnectionRefused,
        104 => SocketError.ConnectionReset,
        101 => SocketError.NetworkUnreachable,
        113 => SocketError.HostUnreachable,
        105 => SocketError.NoBufferSpaceAvailable,
        9 => SocketError.OperationAborted,
        _ => SocketError.SocketError,
    };

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
