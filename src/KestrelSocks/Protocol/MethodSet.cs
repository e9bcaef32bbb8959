namespace KestrelSocks.Protocol;

/// <summary>The METHODS a client offered: a 256-bit set, so a greeting parses without copying its list.</summary>
internal struct MethodSet
{
    private ulong _bits0;
    private ulong _bits1;
    private ulong _bits2;
    private ulong _bits3;

    public readonly bool IsEmpty => (_bits0 | _bits1 | _bits2 | _bits3) == 0;

    public void Add(byte method)
    {
        var bit = 1UL << (method & 63);
        switch (method >> 6)
        {
            case 0: _bits0 |= bit; break;
            case 1: _bits1 |= bit; break;
            case 2: _bits2 |= bit; break;
            default: _bits3 |= bit; break;
        }
    }

    public readonly bool Contains(AuthMethod method)
    {
        var value = (byte)method;
        var bits = (value >> 6) switch
        {
            0 => _bits0,
            1 => _bits1,
            2 => _bits2,
            _ => _bits3,
        };
        return (bits & (1UL << (value & 63))) != 0;
    }
}
