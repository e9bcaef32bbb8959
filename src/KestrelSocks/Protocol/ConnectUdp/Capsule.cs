using System.Buffers;

namespace KestrelSocks.Protocol.ConnectUdp;

/// <summary>
/// One capsule (RFC 9297 section 3.2). <see cref="Value"/> is a slice of the buffer it was parsed from, not a copy: it
/// is valid only until the reader that owns that buffer advances past it.
/// </summary>
internal readonly struct Capsule
{
    public Capsule(CapsuleType type, ReadOnlySequence<byte> value)
    {
        Type = type;
        Value = value;
    }

    public CapsuleType Type { get; }

    public ReadOnlySequence<byte> Value { get; }
}
