using System.Buffers;

namespace KestrelSocks.Tests.Infrastructure;

/// <summary>One segment of a hand-built <see cref="ReadOnlySequence{T}"/>; each segment owns its own array.</summary>
internal sealed class TestSequenceSegment : ReadOnlySequenceSegment<byte>
{
    public TestSequenceSegment(ReadOnlyMemory<byte> memory)
    {
        Memory = memory;
    }

    public TestSequenceSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new TestSequenceSegment(memory)
        {
            RunningIndex = RunningIndex + Memory.Length,
        };
        Next = next;
        return next;
    }
}
