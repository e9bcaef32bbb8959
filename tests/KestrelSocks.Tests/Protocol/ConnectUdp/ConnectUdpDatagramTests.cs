using System.Buffers;
using KestrelSocks.Protocol.ConnectUdp;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol.ConnectUdp;

public sealed class ConnectUdpDatagramTests
{
    [Fact]
    public void WriteDatagramCapsule_MatchesTheIssueVectorByteForByte()
    {
        // 00 0a 00 68656c6c6f2d683221: type 0, length 10, Context ID 0, "hello-h2!".
        byte[] expected = Convert.FromHexString("000a0068656c6c6f2d683221");
        Assert.Equal(expected, CapsuleParserTests.HelloDatagram);

        var destination = new byte[expected.Length + 4];
        var written = ConnectUdpDatagram.WriteDatagramCapsule(destination, "hello-h2!"u8);
        Assert.Equal(expected.Length, written);
        Assert.Equal(expected.Length, ConnectUdpDatagram.GetDatagramCapsuleLength(9));
        Assert.Equal(expected, destination[..written]);
        Assert.All(destination[written..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void TryReadUdpPayload_TheIssueVector_InEveryShape()
    {
        ParserAssert.ParsesInEveryShape<Capsule>(CapsuleParser.TryParse, CapsuleParserTests.HelloDatagram, capsule =>
        {
            Assert.True(ConnectUdpDatagram.TryReadUdpPayload(capsule, out var payload));
            Assert.Equal("hello-h2!"u8.ToArray(), payload.ToArray());
        });
    }

    // Payload lengths around the Length field's 1/2/4-byte boundaries (Length = payload + 1), up to the largest.
    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 3)]
    [InlineData(62, 3)]
    [InlineData(63, 4)]
    [InlineData(1_200, 4)]
    [InlineData(16_382, 4)]
    [InlineData(16_383, 6)]
    [InlineData(65_535, 6)]
    public void WriteDatagramCapsule_RoundTripsThroughTheParser(int payloadLength, int headerLength)
    {
        var payload = new byte[payloadLength];
        Random.Shared.NextBytes(payload);
        Assert.Equal(headerLength, ConnectUdpDatagram.GetDatagramCapsuleHeaderLength(payloadLength));
        Assert.True(headerLength <= ConnectUdpDatagram.MaxDatagramCapsuleHeaderLength);

        var capsuleBytes = new byte[ConnectUdpDatagram.GetDatagramCapsuleLength(payloadLength)];
        Assert.Equal(headerLength + payloadLength, capsuleBytes.Length);
        Assert.Equal(capsuleBytes.Length, ConnectUdpDatagram.WriteDatagramCapsule(capsuleBytes, payload));

        var buffer = new ReadOnlySequence<byte>(capsuleBytes);
        Assert.True(CapsuleParser.TryParse(ref buffer, out var capsule));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(CapsuleType.Datagram, capsule.Type);
        Assert.True(ConnectUdpDatagram.TryReadUdpPayload(capsule, out var read));
        Assert.Equal(payload, read.ToArray());
    }

    [Fact]
    public void WriteDatagramCapsuleHeader_InFrontOfAPayloadAlreadyInPlace_MakesTheSameCapsule()
    {
        // The agent's receive path: the UDP payload lands at MaxDatagramCapsuleHeaderLength, the header goes right before it.
        var payload = new byte[1_200];
        Random.Shared.NextBytes(payload);
        var buffer = new byte[ConnectUdpDatagram.MaxDatagramCapsuleHeaderLength + payload.Length];
        payload.CopyTo(buffer, ConnectUdpDatagram.MaxDatagramCapsuleHeaderLength);
        var start = ConnectUdpDatagram.MaxDatagramCapsuleHeaderLength - ConnectUdpDatagram.GetDatagramCapsuleHeaderLength(payload.Length);
        var header = ConnectUdpDatagram.WriteDatagramCapsuleHeader(buffer.AsSpan(start), payload.Length);
        Assert.Equal(ConnectUdpDatagram.MaxDatagramCapsuleHeaderLength, start + header);

        var expected = new byte[ConnectUdpDatagram.GetDatagramCapsuleLength(payload.Length)];
        ConnectUdpDatagram.WriteDatagramCapsule(expected, payload);
        Assert.Equal(expected, buffer[start..]);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(65_536)]
    public void Writers_PayloadOutOfRange_Throw(int payloadLength)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ConnectUdpDatagram.GetDatagramCapsuleLength(payloadLength));
        Assert.Throws<ArgumentOutOfRangeException>(() => ConnectUdpDatagram.WriteDatagramCapsuleHeader(new byte[8], payloadLength));
        if (payloadLength > 0)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => ConnectUdpDatagram.WriteDatagramCapsule(new byte[70_000], new byte[payloadLength]));
        }
    }

    [Fact]
    public void Writers_DestinationTooShort_ThrowAndWriteNothing()
    {
        var destination = new byte[CapsuleParserTests.HelloDatagram.Length - 1];
        Assert.Throws<ArgumentException>(() => ConnectUdpDatagram.WriteDatagramCapsule(destination, "hello-h2!"u8));
        Assert.Throws<ArgumentException>(() => ConnectUdpDatagram.WriteDatagramCapsuleHeader(destination.AsSpan(0, 3), 100));
        Assert.All(destination, b => Assert.Equal(0, b));
    }

    public static TheoryData<string, byte[], ulong, byte[]> Datagrams => new()
    {
        { "context 0", [0x00, 0x04, 0x00, 1, 2, 3], 0, [1, 2, 3] },
        { "context 0, empty UDP payload", [0x00, 0x01, 0x00], 0, [] },
        { "context 0 in 4 bytes", [0x00, 0x06, 0x80, 0, 0, 0, 9, 9], 0, [9, 9] },
        { "context 2", [0x00, 0x03, 0x02, 0xAA, 0xBB], 2, [0xAA, 0xBB] },
        { "context 16383, empty", [0x00, 0x02, 0x7F, 0xFF], 16_383, [] },
        { "largest context", [0x00, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], QuicVarInt.MaxValue, [0x01] },
    };

    [Theory]
    [MemberData(nameof(Datagrams))]
    public void ReadPayload_ReportsTheContextId_ZeroIsTheOnlyUdpPayload(string name, byte[] bytes, ulong contextId, byte[] payload)
    {
        Assert.NotEmpty(name);
        ParserAssert.ParsesInEveryShape<Capsule>(CapsuleParser.TryParse, bytes, capsule =>
        {
            ConnectUdpDatagram.ReadPayload(capsule, out var readContextId, out var rest);
            Assert.Equal(contextId, readContextId);
            Assert.Equal(payload, rest.ToArray());

            // A non-zero context is reported, not thrown: the caller drops it silently.
            Assert.Equal(contextId == 0, ConnectUdpDatagram.TryReadUdpPayload(capsule, out var udp));
            Assert.Equal(payload, udp.ToArray());
        });

        // The same HTTP Datagram payload arriving whole, as in an HTTP/3 datagram.
        Assert.Equal(contextId == 0, ConnectUdpDatagram.TryReadUdpPayload(bytes.AsSpan(2), out var fromSpan));
        Assert.Equal(payload, fromSpan.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x00 })]
    [InlineData(new byte[] { 0x00, 0x01, 0x40 })]
    [InlineData(new byte[] { 0x00, 0x03, 0x80, 0x00, 0x00 })]
    [InlineData(new byte[] { 0x00, 0x07, 0xC0, 0, 0, 0, 0, 0, 0 })]
    public void ReadPayload_ValueEndsInsideTheContextId_Throws(byte[] bytes)
    {
        ParserAssert.ParsesInEveryShape<Capsule>(CapsuleParser.TryParse, bytes, capsule =>
        {
            var exception = Assert.Throws<ConnectUdpProtocolException>(() => ConnectUdpDatagram.TryReadUdpPayload(capsule, out _));
            Assert.Equal(ConnectUdpError.DatagramMissingContextId, exception.Error);
        });

        // The bytes behind the capsule do not count: the context ID must fit in the capsule's own value.
        var followed = new ReadOnlySequence<byte>([.. bytes, 0x00, 0x00]);
        Assert.True(CapsuleParser.TryParse(ref followed, out var first));
        Assert.Throws<ConnectUdpProtocolException>(() => ConnectUdpDatagram.ReadPayload(first, out _, out _));

        var span = Assert.Throws<ConnectUdpProtocolException>(() => ConnectUdpDatagram.TryReadUdpPayload(bytes.AsSpan(2), out _));
        Assert.Equal(ConnectUdpError.DatagramMissingContextId, span.Error);
    }

    [Fact]
    public void ReadPayload_NotADatagramCapsule_IsACallerBug()
    {
        var buffer = new ReadOnlySequence<byte>([0x21, 0x01, 0x00]);
        Assert.True(CapsuleParser.TryParse(ref buffer, out var capsule));
        Assert.Throws<ArgumentException>(() => ConnectUdpDatagram.TryReadUdpPayload(capsule, out _));
    }

    [Fact]
    public void ConnectUdpProtocolException_HasAMessageForEveryError()
    {
        foreach (var error in Enum.GetValues<ConnectUdpError>())
        {
            var exception = new ConnectUdpProtocolException(error);
            Assert.Equal(error, exception.Error);
            Assert.NotEqual(error.ToString(), exception.Message);
        }
    }
}
