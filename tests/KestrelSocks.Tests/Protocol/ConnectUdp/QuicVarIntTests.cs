using System.Buffers;
using KestrelSocks.Protocol.ConnectUdp;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol.ConnectUdp;

public sealed class QuicVarIntTests
{
    // Every length boundary, with the minimal encoding each must get (RFC 9000 section 16, table 4).
    public static TheoryData<ulong, byte[]> Boundaries => new()
    {
        { 0, [0x00] },
        { 63, [0x3F] },
        { 64, [0x40, 0x40] },
        { 16_383, [0x7F, 0xFF] },
        { 16_384, [0x80, 0x00, 0x40, 0x00] },
        { (1UL << 30) - 1, [0xBF, 0xFF, 0xFF, 0xFF] },
        { 1UL << 30, [0xC0, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00] },
        { QuicVarInt.MaxValue, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] },
    };

    // RFC 9000 appendix A.1's examples, and non-minimal encodings, which readers must accept.
    public static TheoryData<string, byte[], ulong> Encodings => new()
    {
        { "RFC 9000 A.1, 8 bytes", [0xC2, 0x19, 0x7C, 0x5E, 0xFF, 0x14, 0xE8, 0x8C], 151_288_809_941_952_652 },
        { "RFC 9000 A.1, 4 bytes", [0x9D, 0x7F, 0x3E, 0x7D], 494_878_333 },
        { "RFC 9000 A.1, 2 bytes", [0x7B, 0xBD], 15_293 },
        { "RFC 9000 A.1, 1 byte", [0x25], 37 },
        { "RFC 9000 A.1, 37 in 2 bytes", [0x40, 0x25], 37 },
        { "0 in 2 bytes", [0x40, 0x00], 0 },
        { "0 in 4 bytes", [0x80, 0x00, 0x00, 0x00], 0 },
        { "0 in 8 bytes", [0xC0, 0, 0, 0, 0, 0, 0, 0], 0 },
        { "63 in 8 bytes", [0xC0, 0, 0, 0, 0, 0, 0, 0x3F], 63 },
        { "16383 in 4 bytes", [0x80, 0x00, 0x3F, 0xFF], 16_383 },
    };

    [Theory]
    [MemberData(nameof(Boundaries))]
    public void Write_AtEveryLengthBoundary_WritesTheMinimalEncoding(ulong value, byte[] expected)
    {
        Assert.Equal(expected.Length, QuicVarInt.GetEncodedLength(value));
        var destination = new byte[QuicVarInt.MaxLength + 1];
        Assert.Equal(expected.Length, QuicVarInt.Write(destination, value));
        Assert.Equal(expected, destination[..expected.Length]);
        Assert.Equal(0, destination[expected.Length]);
    }

    [Theory]
    [MemberData(nameof(Boundaries))]
    public void TryRead_AtEveryLengthBoundary_RoundTripsInEveryShape(ulong value, byte[] encoded)
    {
        ParserAssert.ParsesInEveryShape<ulong>(Read, encoded, read => Assert.Equal(value, read));
        ParserAssert.ParsesPipelined<ulong>(Read, encoded, [0xC0, 0x01], read => Assert.Equal(value, read));
        Assert.True(QuicVarInt.TryRead(encoded, out var fromSpan, out var bytesRead));
        Assert.Equal(value, fromSpan);
        Assert.Equal(encoded.Length, bytesRead);
    }

    [Theory]
    [MemberData(nameof(Boundaries))]
    public void TryRead_EveryTruncatedPrefix_NeedsMore(ulong value, byte[] encoded)
    {
        Assert.Equal(encoded.Length, QuicVarInt.GetEncodedLength(value));
        ParserAssert.NeedsMoreForEveryPrefix<ulong>(Read, encoded);
        for (var length = 0; length < encoded.Length; length++)
        {
            Assert.False(QuicVarInt.TryRead(encoded.AsSpan(0, length), out _, out var bytesRead));
            Assert.Equal(0, bytesRead);
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void TryRead_AnyEncoding_ReadsTheValue(string name, byte[] encoded, ulong value)
    {
        Assert.NotEmpty(name);
        ParserAssert.ParsesInEveryShape<ulong>(Read, encoded, read => Assert.Equal(value, read));
        ParserAssert.NeedsMoreForEveryPrefix<ulong>(Read, encoded);
    }

    [Fact]
    public void Write_AndTryRead_RoundTripAroundEveryBoundary()
    {
        var destination = new byte[QuicVarInt.MaxLength];
        foreach (var boundary in (ulong[])[0, 63, 64, 16_383, 16_384, (1UL << 30) - 1, 1UL << 30, QuicVarInt.MaxValue])
        {
            foreach (var value in (ulong[])[boundary - 1, boundary, boundary + 1])
            {
                if (value > QuicVarInt.MaxValue)
                {
                    continue;
                }

                var written = QuicVarInt.Write(destination, value);
                Assert.True(QuicVarInt.TryRead(destination.AsSpan(0, written), out var read, out var bytesRead));
                Assert.Equal((value, written), (read, bytesRead));
            }
        }
    }

    [Theory]
    [InlineData(1UL << 62)]
    [InlineData(ulong.MaxValue)]
    public void Write_TooLarge_Throws(ulong value)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => QuicVarInt.GetEncodedLength(value));
        Assert.Throws<ArgumentOutOfRangeException>(() => QuicVarInt.Write(new byte[8], value));
    }

    [Theory]
    [InlineData(64UL, 1)]
    [InlineData(16_384UL, 3)]
    [InlineData(1UL << 30, 7)]
    public void Write_DestinationTooShort_ThrowsAndWritesNothing(ulong value, int length)
    {
        var destination = new byte[length];
        Assert.Throws<ArgumentException>(() => QuicVarInt.Write(destination, value));
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    [Fact]
    public void TryRead_Empty_NeedsMore()
    {
        var reader = new SequenceReader<byte>(ReadOnlySequence<byte>.Empty);
        Assert.False(QuicVarInt.TryRead(ref reader, out _));
        Assert.False(QuicVarInt.TryRead([], out _, out _));
    }

    /// <summary>Adapts the reader-based API to <see cref="SequenceParser{T}"/>, checking false moves nothing.</summary>
    private static bool Read(ref ReadOnlySequence<byte> buffer, out ulong value)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!QuicVarInt.TryRead(ref reader, out value))
        {
            Assert.Equal(0, reader.Consumed);
            return false;
        }

        buffer = buffer.Slice(reader.Position);
        return true;
    }
}
