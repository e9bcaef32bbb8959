using System.Buffers;
using System.Text;
using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Protocol;

/// <summary>
/// RFC 1928 / RFC 1929 parsers, each on whole input, split at every offset, one byte per segment, every truncated
/// prefix, with pipelined bytes behind it, and with every invalid field value. One partial file per message.
/// </summary>
public sealed partial class Socks5ParserTests
{
    /// <summary>ATYP ADDR PORT for every address type, and the text <see cref="Socks5Address.ToString"/> gives.</summary>
    public static TheoryData<string, byte[]> Addresses => new()
    {
        { "192.0.2.1:1080", [0x01, 192, 0, 2, 1, 0x04, 0x38] },
        { "[2001:db8::1]:443", [0x04, 0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0xBB] },
        { "example.com:80", [0x03, 11, .. "example.com"u8, 0x00, 0x50] },
        { "0.0.0.0:0", [0x01, 0, 0, 0, 0, 0x00, 0x00] },
        { "[::]:65535", [0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] },
        { "a:258", [0x03, 1, (byte)'a', 0x01, 0x02] },
        { $"{LongDomain}:65535", [0x03, 255, .. Encoding.ASCII.GetBytes(LongDomain), 0xFF, 0xFF] },
    };

    /// <summary>Every ATYP byte RFC 1928 does not define: 0, 2 and 5 to 255.</summary>
    public static IEnumerable<byte> UnknownAddressTypes =>
        Enumerable.Range(0, 256).Where(value => value is not (1 or 3 or 4)).Select(value => (byte)value);

    /// <summary>A 255-byte domain name, the longest RFC 1928 can carry.</summary>
    private static string LongDomain { get; } = string.Join('.', Enumerable.Repeat(new string('a', 63), 4));

    /// <summary>Every byte value except <paramref name="valid"/>.</summary>
    private static IEnumerable<byte> AllBytesExcept(byte valid) =>
        Enumerable.Range(0, 256).Where(value => value != valid).Select(value => (byte)value);

    /// <summary>TryReadAddress as a sequence parser: also checks the reader is untouched when it needs more bytes.</summary>
    private static bool ReadAddress(ref ReadOnlySequence<byte> buffer, out Socks5Address address)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (!Socks5Parser.TryReadAddress(ref reader, out address))
        {
            Assert.Equal(0, reader.Consumed);
            return false;
        }

        buffer = reader.UnreadSequence;
        return true;
    }

    private static void AssertAddress(string expected, byte[] encoded, in Socks5Address actual)
    {
        Assert.Equal(expected, actual.ToString());
        Assert.Equal((AddressType)encoded[0], actual.Type);
        Assert.Equal(encoded.Length, actual.EncodedLength);
        var addressBytes = actual.Type == AddressType.DomainName ? encoded[2..^2] : encoded[1..^2];
        Assert.Equal(addressBytes, actual.AddressBytes.ToArray());
        Assert.Equal((ushort)((encoded[^2] << 8) | encoded[^1]), actual.Port);
    }
}
