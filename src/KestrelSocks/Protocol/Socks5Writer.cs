using System.Buffers;

namespace KestrelSocks.Protocol;

/// <summary>Allocation-free writers for every SOCKS5 message, into any <see cref="IBufferWriter{T}"/> (a PipeWriter in the server).</summary>
internal static class Socks5Writer
{
    /// <summary>VER METHOD: the server's answer to a greeting.</summary>
    public static void WriteMethodSelection(IBufferWriter<byte> writer, AuthMethod method)
    {
        var span = writer.GetSpan(2);
        span[0] = Socks5Constants.Version;
        span[1] = (byte)method;
        writer.Advance(2);
    }

    /// <summary>VER STATUS of RFC 1929: zero for success, anything else for failure.</summary>
    public static void WriteUsernamePasswordStatus(IBufferWriter<byte> writer, byte status)
    {
        var span = writer.GetSpan(2);
        span[0] = Socks5Constants.UsernamePasswordVersion;
        span[1] = status;
        writer.Advance(2);
    }

    /// <summary>VER REP RSV ATYP BND.ADDR BND.PORT.</summary>
    public static void WriteReply(IBufferWriter<byte> writer, ReplyCode reply, in Socks5Address boundAddress)
    {
        WriteHeaderAndAddress(writer, (byte)reply, boundAddress);
    }

    /// <summary>A reply that names no address: ATYP IPv4, 0.0.0.0:0, as failure replies carry.</summary>
    public static void WriteReply(IBufferWriter<byte> writer, ReplyCode reply)
    {
        var span = writer.GetSpan(10);
        span[0] = Socks5Constants.Version;
        span[1] = (byte)reply;
        span[2] = Socks5Constants.Reserved;
        span[3] = (byte)AddressType.IPv4;
        span.Slice(4, 6).Clear();
        writer.Advance(10);
    }

    /// <summary>VER NMETHODS METHODS: what a client sends first.</summary>
    public static void WriteGreeting(IBufferWriter<byte> writer, ReadOnlySpan<AuthMethod> methods)
    {
        if (methods.Length is 0 or > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(methods), "A greeting offers 1 to 255 methods.");
        }

        var span = writer.GetSpan(2 + methods.Length);
        span[0] = Socks5Constants.Version;
        span[1] = (byte)methods.Length;
        for (var i = 0; i < methods.Length; i++)
        {
            span[2 + i] = (byte)methods[i];
        }

        writer.Advance(2 + methods.Length);
    }

    /// <summary>VER ULEN UNAME PLEN PASSWD of RFC 1929.</summary>
    public static void WriteUsernamePassword(IBufferWriter<byte> writer, ReadOnlySpan<byte> username, ReadOnlySpan<byte> password)
    {
        if (username.Length > 255 || password.Length > 255)
        {
            throw new ArgumentException("RFC 1929 usernames and passwords are at most 255 bytes.");
        }

        var length = 3 + username.Length + password.Length;
        var span = writer.GetSpan(length);
        span[0] = Socks5Constants.UsernamePasswordVersion;
        span[1] = (byte)username.Length;
        username.CopyTo(span[2..]);
        span[2 + username.Length] = (byte)password.Length;
        password.CopyTo(span[(3 + username.Length)..]);
        writer.Advance(length);
    }

    /// <summary>VER CMD RSV ATYP DST.ADDR DST.PORT.</summary>
    public static void WriteRequest(IBufferWriter<byte> writer, Socks5Command command, in Socks5Address destination)
    {
        WriteHeaderAndAddress(writer, (byte)command, destination);
    }

    private static void WriteHeaderAndAddress(IBufferWriter<byte> writer, byte second, in Socks5Address address)
    {
        var length = 3 + address.EncodedLength;
        var span = writer.GetSpan(length);
        span[0] = Socks5Constants.Version;
        span[1] = second;
        span[2] = Socks5Constants.Reserved;
        address.TryWrite(span[3..], out _);
        writer.Advance(length);
    }
}
