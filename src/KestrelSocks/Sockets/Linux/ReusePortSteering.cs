using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace KestrelSocks.Sockets.Linux;

/// <summary>
/// Chooses which socket of an SO_REUSEPORT group receives a datagram: the one at index <c>source port % count</c>,
/// through a classic BPF program on the group (SO_ATTACH_REUSEPORT_CBPF). The kernel's own choice is a hash of the
/// four-tuple that user space cannot reproduce; with this one, the relay knows from a client's port alone which
/// socket, and so which relay loop, its datagrams arrive on, and places the client's association there.
/// <para>
/// The program reads the UDP source port behind an IPv4 header without options or an IPv6 header without extension
/// headers (what clients send). Anything else goes to socket 0, where the relay finds the datagram on the wrong
/// loop and drops it as from a wrong source.
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
internal static class ReusePortSteering
{
    private const int LevelSocket = 1;
    private const int ReusePort = 15;
    private const int AttachReusePortClassicBpf = 51;

    // Loads relative to the network header: the program otherwise sees the datagram from its UDP payload on.
    private const uint NetworkOffset = unchecked((uint)-0x100000);

    private const ushort LoadByteAbsolute = 0x30;
    private const ushort LoadHalfAbsolute = 0x28;
    private const ushort ShiftRight = 0x74;
    private const ushort And = 0x54;
    private const ushort JumpIfEqual = 0x15;
    private const ushort Jump = 0x05;
    private const ushort Modulo = 0x94;
    private const ushort ReturnA = 0x16;
    private const ushort ReturnConstant = 0x06;

    /// <summary>Lets <paramref name="socket"/> join the group of sockets bound to the same address and port. Before bind.</summary>
    public static void AllowReuse(Socket socket) => socket.SetRawSocketOption(LevelSocket, ReusePort, [1, 0, 0, 0]);

    /// <summary>Steers the group <paramref name="socket"/> belongs to by source port. Throws <see cref="SocketException"/> where the kernel cannot.</summary>
    public static unsafe void Attach(Socket socket, int count)
    {
        ReadOnlySpan<Instruction> program =
        [
            /* 0 */ new(LoadByteAbsolute, 0, 0, NetworkOffset),
            /* 1 */ new(ShiftRight, 0, 0, 4),
            /* 2 */ new(JumpIfEqual, 5, 0, 6),              // IPv6: to 8
            /* 3 */ new(LoadByteAbsolute, 0, 0, NetworkOffset),
            /* 4 */ new(And, 0, 0, 0x0F),
            /* 5 */ new(JumpIfEqual, 0, 5, 5),              // IPv4 without options, else to 11
            /* 6 */ new(LoadHalfAbsolute, 0, 0, NetworkOffset + 20),
            /* 7 */ new(Jump, 0, 0, 1),                     // to 9
            /* 8 */ new(LoadHalfAbsolute, 0, 0, NetworkOffset + 40),
            /* 9 */ new(Modulo, 0, 0, (uint)count),
            /* 10 */ new(ReturnA, 0, 0, 0),
            /* 11 */ new(ReturnConstant, 0, 0, 0),
        ];

        fixed (Instruction* instructions = program)
        {
            // struct sock_fprog: an unsigned short count, then (aligned) a pointer to the instructions.
            Span<byte> fprog = stackalloc byte[16];
            fprog.Clear();
            MemoryMarshal.Write(fprog, (ushort)program.Length);
            MemoryMarshal.Write(fprog[8..], (nint)instructions);
            socket.SetRawSocketOption(LevelSocket, AttachReusePortClassicBpf, fprog);
        }
    }

    /// <summary>struct sock_filter.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Instruction(ushort code, byte jumpIfTrue, byte jumpIfFalse, uint k)
    {
        public readonly ushort Code = code;
        public readonly byte JumpIfTrue = jumpIfTrue;
        public readonly byte JumpIfFalse = jumpIfFalse;
        public readonly uint K = k;
    }
}
