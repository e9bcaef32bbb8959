using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using KestrelSocks.Microbenchmarks.Infrastructure;
using KestrelSocks.Protocol.ConnectUdp;

namespace KestrelSocks.Microbenchmarks.Protocol;

/// <summary>
/// The connect-udp per-datagram path: a DATAGRAM capsule carrying a 1,200-byte UDP payload (a typical QUIC packet),
/// parsed with <see cref="CapsuleParser"/> and unwrapped with <see cref="ConnectUdpDatagram.TryReadUdpPayload(in Capsule, out ReadOnlySequence{byte})"/>,
/// and written with <see cref="ConnectUdpDatagram"/>'s writers. Parsing runs on one segment (the baseline) and on a
/// sequence split inside both header varints and inside the payload, so the straddling-varint path is measured too.
/// Each invocation handles <see cref="InnerLoopCount"/> capsules. Target: 0 bytes allocated.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ConnectUdpDatagramBenchmark
{
    private const int InnerLoopCount = 100;
    private const int PayloadLength = 1_200;

    private readonly byte[] _payload = new byte[PayloadLength];
    private readonly byte[] _destination = new byte[ConnectUdpDatagram.MaxDatagramCapsuleHeaderLength + PayloadLength];
    private ReadOnlySequence<byte> _singleSegment;
    private ReadOnlySequence<byte> _multiSegment;

    [GlobalSetup]
    public void Setup()
    {
        new Random(42).NextBytes(_payload);
        var capsule = new byte[ConnectUdpDatagram.GetDatagramCapsuleLength(PayloadLength)];
        ConnectUdpDatagram.WriteDatagramCapsule(capsule, _payload);

        // Type | Length byte 1 | Length byte 2, Context ID, payload part | rest of the payload.
        _singleSegment = new ReadOnlySequence<byte>(capsule);
        _multiSegment = BufferSegment.Split(capsule, 1, 2, 600);

        foreach (var sequence in (ReadOnlySpan<ReadOnlySequence<byte>>)[_singleSegment, _multiSegment])
        {
            var buffer = sequence;
            if (!CapsuleParser.TryParse(ref buffer, out var parsed) || !buffer.IsEmpty
                || !ConnectUdpDatagram.TryReadUdpPayload(parsed, out var payload) || !payload.ToArray().AsSpan().SequenceEqual(_payload))
            {
                throw new InvalidOperationException("A benchmark input does not parse as exactly one DATAGRAM capsule.");
            }
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Parse")]
    public long Parse_SingleSegment() => Parse(_singleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Parse")]
    public long Parse_MultiSegment() => Parse(_multiSegment);

    /// <summary>Header and a 1,200-byte copy: what the server does for each datagram it relays back to the client.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Write")]
    public int Write_Capsule()
    {
        var written = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            written += ConnectUdpDatagram.WriteDatagramCapsule(_destination, _payload);
        }

        return written;
    }

    /// <summary>The header only, in front of a payload already received in place: no copy at all.</summary>
    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Write")]
    public int Write_HeaderInPlace()
    {
        var start = ConnectUdpDatagram.MaxDatagramCapsuleHeaderLength - ConnectUdpDatagram.GetDatagramCapsuleHeaderLength(PayloadLength);
        var written = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            written += ConnectUdpDatagram.WriteDatagramCapsuleHeader(_destination.AsSpan(start), PayloadLength);
        }

        return written;
    }

    // Each loop parses from a fresh copy of the input and folds the payload length into the result, so the JIT cannot
    // drop the work.
    private static long Parse(ReadOnlySequence<byte> input)
    {
        long total = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            var buffer = input;
            if (CapsuleParser.TryParse(ref buffer, out var capsule)
                && capsule.Type == CapsuleType.Datagram
                && ConnectUdpDatagram.TryReadUdpPayload(capsule, out var payload))
            {
                total += payload.Length;
            }
        }

        return total;
    }
}
