using System.Buffers;

namespace KestrelSocks.Tests.Infrastructure;

/// <summary>Builds multi-segment sequences, so parsers are tested on every way a socket can fragment a message.</summary>
internal static class TestSequence
{
    /// <summary>
    /// Splits <paramref name="data"/> at <paramref name="offsets"/> (ascending, 0 to data.Length). Each part is copied
    /// into its own array; a repeated offset, or an offset of 0 or data.Length, makes an empty segment.
    /// </summary>
    public static ReadOnlySequence<byte> Create(byte[] data, params int[] offsets)
    {
        var parts = new List<byte[]>(offsets.Length + 1);
        var start = 0;
        foreach (var offset in offsets)
        {
            if (offset < start || offset > data.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offsets), $"Offset {offset} is not between {start} and {data.Length}.");
            }

            parts.Add(data[start..offset]);
            start = offset;
        }

        parts.Add(data[start..]);
        return FromParts(parts);
    }

    /// <summary>One segment per byte.</summary>
    public static ReadOnlySequence<byte> CreateOneBytePerSegment(byte[] data)
    {
        var parts = new List<byte[]>(data.Length);
        foreach (var value in data)
        {
            parts.Add([value]);
        }

        return FromParts(parts);
    }

    /// <summary>
    /// Every shape worth trying: one segment, a split at each offset from 0 to data.Length (the ends give empty
    /// segments), and one byte per segment.
    /// </summary>
    public static IEnumerable<(string Shape, ReadOnlySequence<byte> Sequence)> AllShapes(byte[] data)
    {
        yield return ("single segment", new ReadOnlySequence<byte>(data.ToArray()));
        for (var offset = 0; offset <= data.Length; offset++)
        {
            yield return ($"split at {offset}", Create(data, offset));
        }

        if (data.Length > 0)
        {
            yield return ("one byte per segment", CreateOneBytePerSegment(data));
        }
    }

    private static ReadOnlySequence<byte> FromParts(List<byte[]> parts)
    {
        if (parts.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new TestSequenceSegment(parts[0]);
        var last = first;
        for (var i = 1; i < parts.Count; i++)
        {
            last = last.Append(parts[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
