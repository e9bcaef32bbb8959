using System.Buffers;

namespace KestrelSocks.Microbenchmarks.Infrastructure;

/// <summary>
/// A segment of a hand-built <see cref="ReadOnlySequence{T}"/>, so parsers can be measured on input split across
/// segments, as a pipe hands it over when a message straddles two of its buffers.
/// </summary>
internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    private BufferSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>
    /// Splits <paramref name="data"/> into segments of <paramref name="segmentSize"/> bytes (the last may be shorter),
    /// each copied into its own array so no two segments share memory.
    /// </summary>
    public static ReadOnlySequence<byte> CreateSequence(ReadOnlySpan<byte> data, int segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(data.Length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);

        var first = new BufferSegment(data[..Math.Min(segmentSize, data.Length)].ToArray(), 0);
        var last = first;
        for (var offset = last.Memory.Length; offset < data.Length; offset += last.Memory.Length)
        {
            var next = new BufferSegment(data.Slice(offset, Math.Min(segmentSize, data.Length - offset)).ToArray(), offset);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>
    /// Splits <paramref name="data"/> at <paramref name="offsets"/> (ascending, strictly inside the data), each part
    /// copied into its own array, to put segment boundaries exactly where a parser is hardest pressed.
    /// </summary>
    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> data, params ReadOnlySpan<int> offsets)
    {
        var start = 0;
        BufferSegment? first = null;
        BufferSegment? last = null;
        foreach (var end in (ReadOnlySpan<int>)[.. offsets, data.Length])
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(end, start);
            var segment = new BufferSegment(data[start..end].ToArray(), start);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.Next = segment;
            }

            last = segment;
            start = end;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }
}
