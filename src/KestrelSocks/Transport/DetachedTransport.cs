using System.Buffers;
using System.IO.Pipelines;

namespace KestrelSocks.Transport;

/// <summary>
/// What a connection's <see cref="IDuplexPipe"/> becomes once its socket is handed over: input that has ended and
/// output that refuses writes. One shared instance serves every handed-over connection, so a tunnel that lives for
/// hours does not keep two pipes, their segments and their options alive for nothing.
/// </summary>
internal sealed class DetachedTransport : IDuplexPipe
{
    public static readonly DetachedTransport Instance = new();

    private DetachedTransport()
    {
    }

    public PipeReader Input { get; } = new EndedReader();

    public PipeWriter Output { get; } = new RefusingWriter();

    private sealed class EndedReader : PipeReader
    {
        private static readonly ReadResult _ended = new(ReadOnlySequence<byte>.Empty, isCanceled: false, isCompleted: true);

        public override bool TryRead(out ReadResult result)
        {
            result = _ended;
            return true;
        }

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => new(_ended);

        public override void AdvanceTo(SequencePosition consumed)
        {
        }

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
        }

        public override void CancelPendingRead()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }
    }

    private sealed class RefusingWriter : PipeWriter
    {
        public override void Advance(int bytes) => throw HandedOver();

        public override Memory<byte> GetMemory(int sizeHint = 0) => throw HandedOver();

        public override Span<byte> GetSpan(int sizeHint = 0) => throw HandedOver();

        // The reading side is gone, as when a peer stops reading: a flush reports completion and sends nothing.
        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            new(new FlushResult(isCanceled: false, isCompleted: true));

        public override void CancelPendingFlush()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }

        private static InvalidOperationException HandedOver() =>
            new("The connection's socket has been handed over; its output pipe takes no more bytes.");
    }
}
