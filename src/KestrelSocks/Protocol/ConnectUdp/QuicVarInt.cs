using System.Buffers;
using System.Buffers.Binary;

namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// QUIC variable-length integers (RFC 9000 section 16): the two high bits of the first byte give the length (1, 2, 4
/// or 8 bytes), the other 6, 14, 30 or 62 bits hold the value, big-endian. Capsule types and lengths, and context IDs,
/// are written this way. Readers accept any encoding of a value (RFC 9000 does not require the minimal one); writers
/// always produce the minimal one.
/// </summary>
internal static class QuicVarInt
{
    /// <summary>The largest value a variable-length integer holds: 2^62 - 1.</summary>
    public const ulong MaxValue = (1UL << 62) - 1;

    /// <summary>The longest encoding, in bytes.</summary>
    public const int MaxLength = 8;

    /// <summary>
    /// Reads one integer and moves <paramref name="reader"/> past it. False when fewer bytes than the first byte
    /// announces have arrived; <paramref name="reader"/> is then left where it was.
    /// </summary>
    public static bool TryRead(ref SequenceReader<byte> reader, out ulong value)
    {
        // SequenceReader skips empty segments, so the unread span is empty only at the end of the input.
        var span = reader.UnreadSpan;
        if (span.IsEmpty)
        {
            value = 0;
            return false;
        }

        var length = GetLengthFromFirstByte(span[0]);
        if (span.Length < length)
        {
            // The integer straddles segments: copy its at most 8 bytes and decode those.
            Span<byte> bytes = stackalloc byte[MaxLength];
            if (!reader.TryCopyTo(bytes[..length]))
            {
                value = 0;
                return false;
            }

            value = Decode(bytes, length);
            reader.Advance(length);
            return true;
        }

        value = Decode(span, length);
        reader.Advance(length);
        return true;
    }

    /// <summary>
    /// Reads one integer from the start of <paramref name="source"/>, for input that arrives whole (an HTTP/3
    /// datagram). False when <paramref name="source"/> ends inside it.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int bytesRead)
    {
        if (source.IsEmpty || source.Length < GetLengthFromFirstByte(source[0]))
        {
            value = 0;
            bytesRead = 0;
            return false;
        }

        bytesRead = GetLengthFromFirstByte(source[0]);
        value = Decode(source, bytesRead);
        return true;
    }

    /// <summary>The length of the minimal encoding of <paramref name="value"/>: 1, 2, 4 or 8.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is 2^62 or more.</exception>
    public static int GetEncodedLength(ulong value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxValue);
        return value switch
        {
            <= 0x3F => 1,
            <= 0x3FFF => 2,
            <= 0x3FFF_FFFF => 4,
            _ => 8,
        };
    }

    /// <summary>Writes the minimal encoding of <paramref name="value"/> and returns its length.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is 2^62 or more.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the encoding.</exception>
    public static int Write(Span<byte> destination, ulong value)
    {
        var length = GetEncodedLength(value);
        if (destination.Length < length)
        {
            throw new ArgumentException($"{length} bytes are needed to encode {value}.", nameof(destination));
        }

        switch (length)
        {
            case 1:
                destination[0] = (byte)value;
                break;
            case 2:
                BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(value | 0x4000));
                break;
            case 4:
                BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)value | 0x8000_0000);
                break;
            default:
                BinaryPrimitives.WriteUInt64BigEndian(destination, value | 0xC000_0000_0000_0000);
                break;
        }

        return length;
    }

    private static int GetLengthFromFirstByte(byte first) => 1 << (first >> 6);

    private static ulong Decode(ReadOnlySpan<byte> bytes, int length) => length switch
    {
        1 => bytes[0],
        2 => BinaryPrimitives.ReadUInt16BigEndian(bytes) & 0x3FFFu,
        4 => BinaryPrimitives.ReadUInt32BigEndian(bytes) & 0x3FFF_FFFFu,
        _ => BinaryPrimitives.ReadUInt64BigEndian(bytes) & MaxValue,
    };
}
