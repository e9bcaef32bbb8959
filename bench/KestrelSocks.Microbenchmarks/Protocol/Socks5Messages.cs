namespace KestrelSocks.Microbenchmarks.Protocol;

/// <summary>
/// One well-formed message of each kind, written out byte by byte (not by the writer under test), with typical
/// sizes: what curl sends and what a server answers.
/// </summary>
internal static class Socks5Messages
{
    /// <summary>VER 05, NMETHODS 2: no authentication and username/password.</summary>
    public static ReadOnlySpan<byte> Greeting => [0x05, 0x02, 0x00, 0x02];

    /// <summary>VER 05, METHOD 02 (username/password).</summary>
    public static ReadOnlySpan<byte> MethodSelection => [0x05, 0x02];

    /// <summary>VER 01, "alice", a 16-byte password.</summary>
    public static ReadOnlySpan<byte> UsernamePassword =>
    [
        0x01,
        0x05, (byte)'a', (byte)'l', (byte)'i', (byte)'c', (byte)'e',
        0x10, (byte)'c', (byte)'o', (byte)'r', (byte)'r', (byte)'e', (byte)'c', (byte)'t', (byte)'-',
        (byte)'h', (byte)'o', (byte)'r', (byte)'s', (byte)'e', (byte)'-', (byte)'4', (byte)'2',
    ];

    /// <summary>VER 01, STATUS 00 (success).</summary>
    public static ReadOnlySpan<byte> UsernamePasswordStatus => [0x01, 0x00];

    /// <summary>CONNECT 192.0.2.1:443.</summary>
    public static ReadOnlySpan<byte> RequestIPv4 => [0x05, 0x01, 0x00, 0x01, 192, 0, 2, 1, 0x01, 0xBB];

    /// <summary>CONNECT [2001:db8::1]:443.</summary>
    public static ReadOnlySpan<byte> RequestIPv6 =>
    [
        0x05, 0x01, 0x00, 0x04,
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x01, 0xBB,
    ];

    /// <summary>CONNECT www.example.com:443, the form curl --socks5-hostname sends.</summary>
    public static ReadOnlySpan<byte> RequestDomain =>
    [
        0x05, 0x01, 0x00, 0x03,
        0x0F, (byte)'w', (byte)'w', (byte)'w', (byte)'.', (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l',
        (byte)'e', (byte)'.', (byte)'c', (byte)'o', (byte)'m',
        0x01, 0xBB,
    ];

    /// <summary>REP 00, BND 10.0.0.5:54321.</summary>
    public static ReadOnlySpan<byte> ReplyIPv4 => [0x05, 0x00, 0x00, 0x01, 10, 0, 0, 5, 0xD4, 0x31];
}
