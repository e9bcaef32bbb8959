using System.Buffers.Binary;

namespace KestrelSocks.LoadTest.Modes;

/// <summary>
/// The payload of a load datagram: association index, step id and sequence number, then pattern bytes that depend
/// on all three, so a datagram delivered to the wrong association, step or position fails its check.
/// </summary>
internal static class UdpDatagram
{
    public const int StampLength = 16;

    public static void WriteStamp(Span<byte> payload, int association, int step, long sequence)
    {
        BinaryPrimitives.WriteInt32LittleEndian(payload, association);
        BinaryPrimitives.WriteInt32LittleEndian(payload[4..], step);
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], sequence);
    }

    public static (int Association, int Step, long Sequence) ReadStamp(ReadOnlySpan<byte> payload) =>
        (BinaryPrimitives.ReadInt32LittleEndian(payload),
         BinaryPrimitives.ReadInt32LittleEndian(payload[4..]),
         BinaryPrimitives.ReadInt64LittleEndian(payload[8..]));

    /// <summary>Where the pattern bytes of a datagram start.</summary>
    public static long PatternPosition(int association, int step, long sequence, int payloadLength) =>
        ((long)association * 7_919) + ((long)step * 15_485_863) + (sequence * payloadLength);
}
