using System.Buffers;
using KestrelSocks.Protocol.ConnectUdp;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol.ConnectUdp;

public sealed class CapsuleParserTests
{
    // The example: a DATAGRAM capsule (type 0, length 10) holding Context ID 0 and "hello-h2!".
    internal static readonly byte[] HelloDatagram = [0x00, 0x0A, 0x00, .. "hello-h2!"u8];

    public static TheoryData<string, byte[], ulong, byte[]> Capsules => new()
    {
        { "DATAGRAM from the issue", HelloDatagram, 0x00, [0x00, .. "hello-h2!"u8] },
        { "zero-length value", [0x00, 0x00], 0x00, [] },
        { "unknown type, zero-length value", [0x3F, 0x00], 0x3F, [] },
        { "unknown 2-byte type", [0x7F, 0xFF, 0x03, 1, 2, 3], 0x3FFF, [1, 2, 3] },
        { "unknown 8-byte type", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0xAA], QuicVarInt.MaxValue, [0xAA] },
        { "non-minimal type and length", [0x80, 0x00, 0x00, 0x00, 0xC0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x07], 0x00, [0x00, 0x07] },
        { "2-byte length", [0x00, 0x40, 0x41, .. new byte[65]], 0x00, new byte[65] },
    };

    [Theory]
    [MemberData(nameof(Capsules))]
    public void TryParse_WholeAndEverySplit_ReadsTypeAndValue(string name, byte[] bytes, ulong type, byte[] value)
    {
        Assert.NotEmpty(name);
        var whole = ParserAssert.ParsesWhole<Capsule>(CapsuleParser.TryParse, bytes);
        AssertCapsule(type, value, whole);
        ParserAssert.ParsesInEveryShape<Capsule>(CapsuleParser.TryParse, bytes, c => AssertCapsule(type, value, c));
    }

    [Theory]
    [MemberData(nameof(Capsules))]
    public void TryParse_EveryTruncatedPrefix_NeedsMore(string name, byte[] bytes, ulong type, byte[] value)
    {
        Assert.NotEmpty(name);
        Assert.True(type <= QuicVarInt.MaxValue);
        Assert.True(value.Length < bytes.Length);
        ParserAssert.NeedsMoreForEveryPrefix<Capsule>(CapsuleParser.TryParse, bytes);
    }

    [Theory]
    [MemberData(nameof(Capsules))]
    public void TryParse_FollowedByAPartialCapsule_ConsumesOnlyTheFirst(string name, byte[] bytes, ulong type, byte[] value)
    {
        Assert.NotEmpty(name);
        ParserAssert.ParsesPipelined<Capsule>(CapsuleParser.TryParse, bytes, HelloDatagram[..5], c => AssertCapsule(type, value, c));
    }

    [Fact]
    public void TryParse_TwoCapsulesBackToBack_ParsesBothInEveryShape()
    {
        byte[] second = [0x21, 0x02, 0xBE, 0xEF];
        foreach (var (shape, sequence) in TestSequence.AllShapes([.. HelloDatagram, .. second]))
        {
            ParserAssert.InShape(shape, () =>
            {
                var buffer = sequence;
                Assert.True(CapsuleParser.TryParse(ref buffer, out var first));
                AssertCapsule(0x00, HelloDatagram[2..], first);
                Assert.True(CapsuleParser.TryParse(ref buffer, out var next));
                AssertCapsule(0x21, [0xBE, 0xEF], next);
                Assert.True(buffer.IsEmpty);
                Assert.Equal(sequence.End, buffer.End);
                Assert.False(CapsuleParser.TryParse(ref buffer, out _));
            });
        }
    }

    [Fact]
    public void TryParse_Value_IsASliceOfTheInput()
    {
        var bytes = HelloDatagram.ToArray();
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(CapsuleParser.TryParse(ref buffer, out var capsule));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(capsule.Value.First, out var segment));
        Assert.Same(bytes, segment.Array);
        Assert.Equal(2, segment.Offset);
    }

    public static TheoryData<string, byte[], int> TooLong => new()
    {
        { "one past the default", Header(0x00, CapsuleParser.DefaultMaxLength + 1), CapsuleParser.DefaultMaxLength },
        { "largest varint length", [0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], CapsuleParser.DefaultMaxLength },
        { "unknown type", Header(0x1234, 1 << 20), CapsuleParser.DefaultMaxLength },
        { "one past a small limit", [0x00, 0x11], 16 },
        { "anything past a zero limit", [0x00, 0x01], 0 },
    };

    [Theory]
    [MemberData(nameof(TooLong))]
    public void TryParse_LengthOverTheLimit_ThrowsFromTheLengthField(string name, byte[] header, int maxLength)
    {
        Assert.NotEmpty(name);
        SequenceParser<Capsule> parse = (ref ReadOnlySequence<byte> buffer, out Capsule capsule) =>
            CapsuleParser.TryParse(ref buffer, maxLength, out capsule);

        // Only the type and Length have arrived: no body is awaited before refusing, in any shape.
        ParserAssert.Throws(parse, header, ConnectUdpError.CapsuleTooLong);
        ParserAssert.NeedsMoreForEveryPrefix(parse, header);
    }

    [Fact]
    public void TryParse_LengthAtTheLimit_WaitsForTheBody()
    {
        var header = Header(0x00, CapsuleParser.DefaultMaxLength);
        var buffer = new ReadOnlySequence<byte>(header);
        Assert.False(CapsuleParser.TryParse(ref buffer, out _));
        Assert.Equal(header.Length, buffer.Length);

        var whole = new ReadOnlySequence<byte>([.. header, .. new byte[CapsuleParser.DefaultMaxLength]]);
        Assert.True(CapsuleParser.TryParse(ref whole, out var capsule));
        Assert.Equal(CapsuleParser.DefaultMaxLength, capsule.Value.Length);
        Assert.True(whole.IsEmpty);
    }

    [Fact]
    public void DefaultMaxLength_HoldsTheLargestUdpPayloadAndContextId()
    {
        Assert.Equal(65_535 + 8, CapsuleParser.DefaultMaxLength);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            var buffer = new ReadOnlySequence<byte>(HelloDatagram);
            CapsuleParser.TryParse(ref buffer, -1, out _);
        });
    }

    [Fact]
    public void TryParse_Empty_NeedsMore()
    {
        var buffer = ReadOnlySequence<byte>.Empty;
        Assert.False(CapsuleParser.TryParse(ref buffer, out _));
    }

    internal static byte[] Header(ulong type, long length)
    {
        var header = new byte[16];
        var written = QuicVarInt.Write(header, type);
        written += QuicVarInt.Write(header.AsSpan(written), (ulong)length);
        return header[..written];
    }

    private static void AssertCapsule(ulong type, byte[] value, Capsule capsule)
    {
        Assert.Equal((CapsuleType)type, capsule.Type);
        Assert.Equal(value, capsule.Value.ToArray());
    }
}
