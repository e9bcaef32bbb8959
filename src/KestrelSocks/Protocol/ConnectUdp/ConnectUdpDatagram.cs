using System.Buffers;

namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// The HTTP Datagram payload of connect-udp (RFC 9298 section 5): Context ID (varint), then a UDP payload when the
/// Context ID is 0. Other Context IDs belong to extensions this server has not negotiated; the caller drops them
/// silently, so reading one reports it rather than throwing. The same payload arrives in a DATAGRAM capsule (HTTP/1.1
/// and HTTP/2) or in an HTTP/3 datagram; both are read here, neither copied nor allocated.
/// </summary>
internal static class ConnectUdpDatagram
{
    /// <summary>The Context ID of a UDP payload.</summary>
    public const ulong UdpPayloadContextId = 0;

    /// <summary>The largest UDP payload written or accepted by default: what a UDP length field can describe.</summary>
    public const int MaxUdpPayloadLength = ushort.MaxValue;

    /// <summary>
    /// The longest DATAGRAM capsule header (type, Length and Context ID 0) for a payload up to
    /// <see cref="MaxUdpPayloadLength"/>: 1 + 4 + 1 bytes. Reserve this much before a receive buffer.
    /// </summary>
    public const int MaxDatagramCapsuleHeaderLength = 6;

    /// <summary>
    /// Reads a DATAGRAM capsule's payload. True with the UDP payload for Context ID 0; false for any other Context ID,
    /// which the caller drops.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="capsule"/> is not a DATAGRAM capsule.</exception>
    /// <exception cref="ConnectUdpProtocolException">The capsule ends inside its Context ID.</exception>
    public static bool TryReadUdpPayload(in Capsule capsule, out ReadOnlySequence<byte> payload)
    {
        ReadPayload(capsule, out var contextId, out payload);
        return contextId == UdpPayloadContextId;
    }

    /// <summary>Splits a DATAGRAM capsule's value into its Context ID and what follows it.</summary>
    /// <exception cref="ArgumentException"><paramref name="capsule"/> is not a DATAGRAM capsule.</exception>
    /// <exception cref="ConnectUdpProtocolException">The capsule ends inside its Context ID.</exception>
    public static void ReadPayload(in Capsule capsule, out ulong contextId, out ReadOnlySequence<byte> payload)
    {
        if (capsule.Type != CapsuleType.Datagram)
        {
            throw new ArgumentException($"Capsule type {(ulong)capsule.Type:x} is not DATAGRAM.", nameof(capsule));
        }

        var value = capsule.Value;
        var reader = new SequenceReader<byte>(value);
        if (!QuicVarInt.TryRead(ref reader, out contextId))
        {
            ConnectUdpProtocolException.Throw(ConnectUdpError.DatagramMissingContextId);
        }

        payload = value.Slice(reader.Position);
    }

    /// <summary>
    /// Reads an HTTP Datagram payload that arrived whole (an HTTP/3 datagram, after its Quarter Stream ID). True with
    /// the UDP payload for Context ID 0; false for any other Context ID, which the caller drops.
    /// </summary>
    /// <exception cref="ConnectUdpProtocolException"><paramref name="httpDatagramPayload"/> ends inside its Context ID.</exception>
    public static bool TryReadUdpPayload(ReadOnlySpan<byte> httpDatagramPayload, out ReadOnlySpan<byte> payload)
    {
        if (!QuicVarInt.TryRead(httpDatagramPayload, out var contextId, out var length))
        {
            ConnectUdpProtocolException.Throw(ConnectUdpError.DatagramMissingContextId);
        }

        payload = httpDatagramPayload[length..];
        return contextId == UdpPayloadContextId;
    }

    /// <summary>The bytes <see cref="WriteDatagramCapsule"/> writes for a UDP payload of <paramref name="payloadLength"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="payloadLength"/> is negative or above <see cref="MaxUdpPayloadLength"/>.</exception>
    public static int GetDatagramCapsuleLength(int payloadLength) => GetDatagramCapsuleHeaderLength(payloadLength) + payloadLength;

    /// <summary>The header <see cref="WriteDatagramCapsuleHeader"/> writes before a payload of <paramref name="payloadLength"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="payloadLength"/> is negative or above <see cref="MaxUdpPayloadLength"/>.</exception>
    public static int GetDatagramCapsuleHeaderLength(int payloadLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payloadLength, MaxUdpPayloadLength);

        // Type 0x00 and Context ID 0 take one byte each; the Length counts the Context ID.
        return 2 + QuicVarInt.GetEncodedLength((ulong)payloadLength + 1);
    }

    /// <summary>
    /// Writes a DATAGRAM capsule with Context ID 0 around <paramref name="payload"/> and returns its length,
    /// <see cref="GetDatagramCapsuleLength"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="payload"/> is longer than <see cref="MaxUdpPayloadLength"/>.</exception>
    public static int WriteDatagramCapsule(Span<byte> destination, ReadOnlySpan<byte> payload)
    {
        var length = GetDatagramCapsuleLength(payload.Length);
        if (destination.Length < length)
        {
            throw new ArgumentException($"A DATAGRAM capsule of a {payload.Length}-byte payload needs {length} bytes.", nameof(destination));
        }

        var header = WriteDatagramCapsuleHeader(destination, payload.Length);
        payload.CopyTo(destination[header..]);
        return length;
    }

    /// <summary>
    /// Writes only the header (type, Length, Context ID 0) of a DATAGRAM capsule whose payload of
    /// <paramref name="payloadLength"/> bytes the caller puts right behind it, and returns the header's length. Lets a
    /// UDP receive land in place: receive at offset <see cref="MaxDatagramCapsuleHeaderLength"/>, then write the header
    /// so that it ends there.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short for the header.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="payloadLength"/> is negative or above <see cref="MaxUdpPayloadLength"/>.</exception>
    public static int WriteDatagramCapsuleHeader(Span<byte> destination, int payloadLength)
    {
        var length = GetDatagramCapsuleHeaderLength(payloadLength);
        if (destination.Length < length)
        {
            throw new ArgumentException($"A DATAGRAM capsule header needs {length} bytes.", nameof(destination));
        }

        destination[0] = (byte)CapsuleType.Datagram;
        var written = 1 + QuicVarInt.Write(destination[1..], (ulong)payloadLength + 1);
        destination[written] = (byte)UdpPayloadContextId;
        return written + 1;
    }
}
