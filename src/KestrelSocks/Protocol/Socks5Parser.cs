using System.Buffers;

namespace KestrelSocks.Protocol;

/// <summary>
/// Allocation-free parsers for every SOCKS5 message. Each <c>TryParse</c> returns true when one whole message was
/// read and moves <c>buffer</c> past it; it returns false, leaving <c>buffer</c> untouched, when more bytes are
/// needed; and it throws <see cref="Socks5ProtocolException"/> for bytes that can never form the message.
/// Bytes behind the message stay in <c>buffer</c>: they belong to the next stage.
/// </summary>
internal static class Socks5Parser
{
    /// <summary>VER NMETHODS METHODS (RFC 1928 section 3).</summary>
    public static bool TryParseGreeting(ref ReadOnlySequence<byte> buffer, out Greeting greeting)
    {
        greeting = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var version))
        {
            return false;
        }

        if (version != Socks5Constants.Version)
        {
            Socks5ProtocolException.Throw(Socks5Error.InvalidVersion);
        }

        if (!reader.TryRead(out var count) || reader.Remaining < count)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            reader.TryRead(out var method);
            greeting.Methods.Add(method);
        }

        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>The server's method selection: VER METHOD.</summary>
    public static bool TryParseMethodSelection(ref ReadOnlySequence<byte> buffer, out AuthMethod method)
    {
        method = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var version))
        {
            return false;
        }

        if (version != Socks5Constants.Version)
        {
            Socks5ProtocolException.Throw(Socks5Error.InvalidVersion);
        }

        if (!reader.TryRead(out var value))
        {
            return false;
        }

        method = (AuthMethod)value;
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>VER ULEN UNAME PLEN PASSWD (RFC 1929 section 2). Both lengths may be zero.</summary>
    public static bool TryParseUsernamePassword(ref ReadOnlySequence<byte> buffer, out UsernamePasswordRequest request)
    {
        request = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var version))
        {
            return false;
        }

        if (version != Socks5Constants.UsernamePasswordVersion)
        {
            Socks5ProtocolException.Throw(Socks5Error.InvalidSubnegotiationVersion);
        }

        Span<byte> username = stackalloc byte[255];
        Span<byte> password = stackalloc byte[255];
        if (!TryReadLengthPrefixed(ref reader, username, out var usernameLength)
            || !TryReadLengthPrefixed(ref reader, password, out var passwordLength))
        {
            return false;
        }

        request = new UsernamePasswordRequest(username[..usernameLength], password[..passwordLength]);
        password.Clear();
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>The server's sub-negotiation status: VER STATUS. Zero is success.</summary>
    public static bool TryParseUsernamePasswordStatus(ref ReadOnlySequence<byte> buffer, out byte status)
    {
        status = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var version))
        {
            return false;
        }

        if (version != Socks5Constants.UsernamePasswordVersion)
        {
            Socks5ProtocolException.Throw(Socks5Error.InvalidSubnegotiationVersion);
        }

        if (!reader.TryRead(out status))
        {
            return false;
        }

        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>VER CMD RSV ATYP DST.ADDR DST.PORT (RFC 1928 section 4).</summary>
    public static bool TryParseRequest(ref ReadOnlySequence<byte> buffer, out Socks5Request request)
    {
        request = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!TryReadHeader(ref reader, out request.Command)
            || !TryReadAddress(ref reader, out request.Destination))
        {
            request = default;
            return false;
        }

        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>VER REP RSV ATYP BND.ADDR BND.PORT (RFC 1928 section 6).</summary>
    public static bool TryParseReply(ref ReadOnlySequence<byte> buffer, out Socks5Reply reply)
    {
        reply = default;
        var reader = new SequenceReader<byte>(buffer);
        if (!TryReadHeader(ref reader, out var code)
            || !TryReadAddress(ref reader, out reply.BoundAddress))
        {
            reply = default;
            return false;
        }

        reply.Reply = (ReplyCode)code;
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>
    /// ATYP ADDR PORT, shared by requests, replies and UDP datagram headers. Like every parser here, it leaves
    /// <paramref name="reader"/> where it was when it returns false.
    /// </summary>
    public static bool TryReadAddress(ref SequenceReader<byte> reader, out Socks5Address address)
    {
        // Read from a copy, so "need more bytes" after ATYP or the domain length does not move the caller's reader.
        var copy = reader;
        if (!TryReadAddressCore(ref copy, out address))
        {
            return false;
        }

        reader = copy;
        return true;
    }

    private static bool TryReadAddressCore(ref SequenceReader<byte> reader, out Socks5Address address)
    {
        address = default;
        if (!reader.TryRead(out var type))
        {
            return false;
        }

        int length;
        switch ((AddressType)type)
        {
            case AddressType.IPv4:
                length = 4;
                break;
            case AddressType.IPv6:
                length = 16;
                break;
            case AddressType.DomainName:
                if (!reader.TryRead(out var domainLength))
                {
                    return false;
                }

                if (domainLength == 0)
                {
                    Socks5ProtocolException.Throw(Socks5Error.EmptyDomainName);
                }

                length = domainLength;
                break;
            default:
                Socks5ProtocolException.Throw(Socks5Error.UnsupportedAddressType);
                return false;
        }

        if (reader.Remaining < length + 2)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[255];
        bytes = bytes[..length];
        reader.TryCopyTo(bytes);
        reader.Advance(length);
        reader.TryReadBigEndian(out short port);
        address = new Socks5Address((AddressType)type, bytes, (ushort)port);
        return true;
    }

    private static bool TryReadHeader(ref SequenceReader<byte> reader, out byte second)
    {
        second = 0;
        if (!reader.TryRead(out var version))
        {
            return false;
        }

        if (version != Socks5Constants.Version)
        {
            Socks5ProtocolException.Throw(Socks5Error.InvalidVersion);
        }

        if (!reader.TryRead(out second) || !reader.TryRead(out var reserved))
        {
            return false;
        }

        if (reserved != Socks5Constants.Reserved)
        {
            Socks5ProtocolException.Throw(Socks5Error.InvalidReserved);
        }

        return true;
    }

    private static bool TryReadLengthPrefixed(ref SequenceReader<byte> reader, scoped Span<byte> destination, out int length)
    {
        length = 0;
        if (!reader.TryRead(out var prefix) || reader.Remaining < prefix)
        {
            return false;
        }

        length = prefix;
        reader.TryCopyTo(destination[..length]);
        reader.Advance(length);
        return true;
    }
}
