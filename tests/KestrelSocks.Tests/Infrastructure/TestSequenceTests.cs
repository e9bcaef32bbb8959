using System.Buffers;
using System.Runtime.InteropServices;

namespace KestrelSocks.Tests.Infrastructure;

public sealed class TestSequenceTests
{
    private static readonly byte[] _data = [1, 2, 3, 4, 5];

    [Fact]
    public void Create_SplitsAtEachOffset()
    {
        var sequence = TestSequence.Create(_data, 1, 3);

        Assert.Equal([[1], [2, 3], [4, 5]], Segments(sequence));
        Assert.Equal(_data, sequence.ToArray());
    }

    [Fact]
    public void Create_RepeatedAndEndOffsets_MakeEmptySegments()
    {
        var sequence = TestSequence.Create(_data, 0, 2, 2, 5);

        Assert.Equal([[], [1, 2], [], [3, 4, 5], []], Segments(sequence));
        Assert.Equal(5, sequence.Length);
        Assert.False(sequence.IsSingleSegment);
    }

    [Fact]
    public void Create_DescendingOffsets_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TestSequence.Create(_data, 3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => TestSequence.Create(_data, 6));
    }

    [Fact]
    public void CreateOneBytePerSegment_MakesOneSegmentPerByte()
    {
        var sequence = TestSequence.CreateOneBytePerSegment(_data);

        Assert.Equal([[1], [2], [3], [4], [5]], Segments(sequence));
    }

    [Fact]
    public void AllShapes_CoverEverySplitAndKeepTheBytes()
    {
        var shapes = TestSequence.AllShapes(_data).ToList();

        // One segment, a split at each of the 6 offsets 0..5, and one byte per segment.
        Assert.Equal(8, shapes.Count);
        Assert.All(shapes, shape => Assert.Equal(_data, shape.Sequence.ToArray()));
    }

    [Fact]
    public void Segments_DoNotShareMemory()
    {
        var sequence = TestSequence.Create(_data, 2);

        Assert.True(MemoryMarshal.TryGetArray(sequence.First, out var segment));
        Assert.NotSame(_data, segment.Array);
        Assert.Equal(2, segment.Array!.Length);
    }

    private static byte[][] Segments(ReadOnlySequence<byte> sequence)
    {
        var segments = new List<byte[]>();
        foreach (var memory in sequence)
        {
            segments.Add(memory.ToArray());
        }

        return [.. segments];
    }
}
