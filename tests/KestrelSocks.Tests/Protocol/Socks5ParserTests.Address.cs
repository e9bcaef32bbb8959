using System.Buffers;
using System.Text;
using KestrelSocks.Protocol;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Protocol;

public sealed partial class Socks5ParserTests
{
    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryReadAddress_WholeAndEverySplit_ReadsAddress(string expected, byte[] encoded)
    {
        AssertAddress(expected, encoded, ParserAssert.ParsesWhole<Socks5Address>(ReadAddress, encoded));
        ParserAssert.ParsesInEveryShape<Socks5Address>(ReadAddress, encoded, address => AssertAddress(expected, encoded, address));
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryReadAddress_EveryTruncatedPrefix_NeedsMoreAndLeavesReaderUntouched(string expected, byte[] encoded)
    {
        Assert.NotEmpty(expected);
        ParserAssert.NeedsMoreForEveryPrefix<Socks5Address>(ReadAddress, encoded);
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryReadAddress_WithBytesBehind_ReadsExactlyTheAddress(string expected, byte[] encoded)
    {
        byte[] payload = [0x16, 0x03, 0x01, 0x00];
        ParserAssert.ParsesPipelined<Socks5Address>(ReadAddress, encoded, payload, address => AssertAddress(expected, encoded, address));
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryReadAddress_FromTheMiddleOfASequence_ReadsFromTheReaderPosition(string expected, byte[] encoded)
    {
        byte[] header = [0x05, 0x01, 0x00];
        byte[] trailer = [0xEE];
        byte[] data = [.. header, .. encoded, .. trailer];
        foreach (var (shape, sequence) in TestSequence.AllShapes(data))
        {
            ParserAssert.InShape(shape, () =>
            {
                var reader = new SequenceReader<byte>(sequence);
                reader.Advance(header.Length);

                Assert.True(Socks5Parser.TryReadAddress(ref reader, out var address));

                AssertAddress(expected, encoded, address);
                Assert.Equal(header.Length + encoded.Length, reader.Consumed);
                Assert.Equal(trailer, reader.UnreadSequence.ToArray());
            });
        }
    }

    [Theory]
    [MemberData(nameof(Addresses))]
    public void TryReadAddress_FromTheMiddle_TruncatedPrefix_LeavesReaderAtItsPosition(string expected, byte[] encoded)
    {
        Assert.NotEmpty(expected);
        byte[] header = [0x05, 0x01, 0x00];
        for (var length = 0; length < encoded.Length; length++)
        {
            byte[] data = [.. header, .. encoded[..length]];
            foreach (var (shape, sequence) in TestSequence.AllShapes(data))
            {
                ParserAssert.InShape($"{length}-byte prefix, {shape}", () =>
                {
                    var reader = new SequenceReader<byte>(sequence);
                    reader.Advance(header.Length);
                    var position = reader.Position;

                    Assert.False(Socks5Parser.TryReadAddress(ref reader, out var address));

                    Assert.Equal(header.Length, reader.Consumed);
                    Assert.Equal(position, reader.Position);
                    Assert.Equal(default(AddressType), address.Type);
                });
            }
        }
    }

    [Fact]
    public void TryReadAddress_UnknownAddressType_ThrowsUnsupportedAddressType()
    {
        foreach (var type in UnknownAddressTypes)
        {
            // The type byte alone is enough to reject it; more bytes behind it change nothing.
            ParserAssert.Throws<Socks5Address>(ReadAddress, [type], Socks5Error.UnsupportedAddressType);
            ParserAssert.Throws<Socks5Address>(ReadAddress, [type, 127, 0, 0, 1, 0x00, 0x50], Socks5Error.UnsupportedAddressType);
        }
    }

    [Fact]
    public void TryReadAddress_UnknownAddressTypes_AreExactlyTheUndefinedValues()
    {
        var unknown = UnknownAddressTypes.ToList();

        Assert.Equal(253, unknown.Count);
        Assert.Contains((byte)0, unknown);
        Assert.Contains((byte)2, unknown);
        Assert.Contains((byte)5, unknown);
        Assert.Contains((byte)255, unknown);
        Assert.DoesNotContain((byte)1, unknown);
        Assert.DoesNotContain((byte)3, unknown);
        Assert.DoesNotContain((byte)4, unknown);
    }

    [Fact]
    public void TryReadAddress_ZeroLengthDomain_ThrowsEmptyDomainName()
    {
        ParserAssert.Throws<Socks5Address>(ReadAddress, [0x03, 0x00], Socks5Error.EmptyDomainName);
        ParserAssert.Throws<Socks5Address>(ReadAddress, [0x03, 0x00, 0x00, 0x50], Socks5Error.EmptyDomainName);
    }

    [Theory]
    [InlineData(0x00, 0x00, 0)]
    [InlineData(0x00, 0x01, 1)]
    [InlineData(0x01, 0x00, 256)]
    [InlineData(0x04, 0x38, 1080)]
    [InlineData(0xFF, 0xFE, 65534)]
    [InlineData(0xFF, 0xFF, 65535)]
    public void TryReadAddress_Port_IsBigEndian(byte high, byte low, int expected)
    {
        ParserAssert.ParsesInEveryShape<Socks5Address>(ReadAddress, [0x01, 10, 0, 0, 1, high, low], address => Assert.Equal(expected, address.Port));
        ParserAssert.ParsesInEveryShape<Socks5Address>(ReadAddress, [0x03, 1, (byte)'h', high, low], address => Assert.Equal(expected, address.Port));
    }

    [Fact]
    public void TryReadAddress_255ByteDomain_KeepsEveryByte()
    {
        var address = ParserAssert.ParsesWhole<Socks5Address>(ReadAddress, [0x03, 255, .. Encoding.ASCII.GetBytes(LongDomain), 0x00, 0x50]);

        Assert.Equal(AddressType.DomainName, address.Type);
        Assert.Equal(255, address.AddressBytes.Length);
        Assert.Equal(LongDomain, address.GetHostName());
        Assert.Equal(80, address.Port);
        Assert.Equal(Socks5Constants.MaxAddressLength, address.EncodedLength);
    }
}
