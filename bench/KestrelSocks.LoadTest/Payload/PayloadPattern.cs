namespace KestrelSocks.LoadTest.Payload;

/// <summary>
/// A deterministic pseudo-random byte stream: byte <c>p</c> of a stream is <c>block[(start + p) mod Period]</c>
/// over a random block whose length is a prime. Senders send straight from the block (no copy, no generator cost)
/// and receivers compare what they got against it with a vectorised <c>SequenceEqual</c>, so every byte is
/// checked at memory speed. A relay that drops, duplicates, reorders or corrupts bytes is caught unless the fault
/// shifts the stream by an exact multiple of the period (1,048,573 bytes); byte counts are checked as well.
/// </summary>
internal sealed class PayloadPattern
{
    /// <summary>A prime just under 1 MiB, so no power-of-two chunking lines up with it.</summary>
    public const int Period = 1_048_573;

    /// <summary>The largest slice handed out at once.</summary>
    public const int MaxSlice = Period;

    private readonly byte[] _block;

    public PayloadPattern(int seed)
    {
        // Twice the period, so every slice of up to one period is contiguous.
        _block = new byte[2 * Period];
        new Random(seed).NextBytes(_block.AsSpan(0, Period));
        _block.AsSpan(0, Period).CopyTo(_block.AsSpan(Period));
    }

    /// <summary>Where the stream numbered <paramref name="streamId"/> starts, so parallel streams differ.</summary>
    public static long StartOf(long streamId) => streamId * 104_729L;

    public ReadOnlySpan<byte> Slice(long position, int length) => _block.AsSpan(Offset(position), length);

    public ReadOnlyMemory<byte> SliceMemory(long position, int length) => _block.AsMemory(Offset(position), length);

    /// <summary>True when <paramref name="received"/> is exactly the stream's bytes from <paramref name="position"/>.</summary>
    public bool Matches(long position, ReadOnlySpan<byte> received)
    {
        while (received.Length > 0)
        {
            var length = Math.Min(received.Length, MaxSlice);
            if (!received[..length].SequenceEqual(Slice(position, length)))
            {
                return false;
            }

            received = received[length..];
            position += length;
        }

        return true;
    }

    private static int Offset(long position) => (int)(((position % Period) + Period) % Period);
}
