using System.Buffers;

namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// Capsules on an HTTP request stream: Type (varint), Length (varint), Value (RFC 9297 section 3.2). Same contract as
/// <see cref="Socks5Parser"/>: true consumes exactly one capsule and leaves the bytes behind it; false needs more bytes
/// and moves nothing; a Length above the limit throws <see cref="ConnectUdpProtocolException"/> as soon as the Length
/// field has arrived, so a peer cannot make the server buffer a body it will refuse. Unknown types parse like any other:
/// skipping them is the caller's job.
/// </summary>
internal static class CapsuleParser
{
    /// <summary>
    /// The longest Value accepted by default: the largest UDP payload (65,535 bytes, a little more than IPv4 or IPv6
    /// can carry) after the longest Context ID (8 bytes), so any DATAGRAM capsule fits.
    /// </summary>
    public const int DefaultMaxLength = ConnectUdpDatagram.MaxUdpPayloadLength + QuicVarInt.MaxLength;

    /// <summary>The longest Type and Length: two 8-byte varints. A read loop looks ahead at most this plus the Value limit.</summary>
    public const int MaxHeaderLength = 2 * QuicVarInt.MaxLength;

    public static bool TryParse(ref ReadOnlySequence<byte> buffer, out Capsule capsule) =>
        TryParse(ref buffer, DefaultMaxLength, out capsule);

    /// <param name="buffer">The unread bytes of the stream.</param>
    /// <param name="maxLength">The longest Value accepted; the read loop's look-ahead is this plus <see cref="MaxHeaderLength"/>.</param>
    /// <param name="capsule">The capsule, its Value a slice of <paramref name="buffer"/>.</param>
    public static bool TryParse(ref ReadOnlySequence<byte> buffer, int maxLength, out Capsule capsule)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        capsule = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!QuicVarInt.TryRead(ref reader, out var type) || !QuicVarInt.TryRead(ref reader, out var length))
        {
            return false;
        }

        if (length > (ulong)maxLength)
        {
            ConnectUdpProtocolException.Throw(ConnectUdpError.CapsuleTooLong);
        }

        if (reader.Remaining < (long)length)
        {
            return false;
        }

        var value = buffer.Slice(reader.Position, (long)length);
        capsule = new Capsule((CapsuleType)type, value);
        buffer = buffer.Slice(value.End);
        return true;
    }
}
