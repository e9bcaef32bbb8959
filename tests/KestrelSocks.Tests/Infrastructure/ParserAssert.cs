using System.Buffers;
using KestrelSocks.Protocol;
using KestrelSocks.Protocol.ConnectUdp;
using KestrelSocks.Protocol.ProxyProtocol;
using Xunit.Sdk;

namespace KestrelSocks.Tests.Infrastructure;

/// <summary>
/// Asserts the parser contract of STYLE.md section 3 on every way a message can be fragmented: true consumes exactly
/// one message, false leaves the input untouched, and bad bytes throw a <see cref="Socks5ProtocolException"/>, a
/// <see cref="ProxyProtocolException"/> for the PROXY protocol header, or a <see cref="ConnectUdpProtocolException"/>
/// for capsules.
/// </summary>
internal static class ParserAssert
{
    /// <summary>Parses <paramref name="message"/> from one segment and returns the result.</summary>
    public static T ParsesWhole<T>(SequenceParser<T> parser, byte[] message)
    {
        var buffer = new ReadOnlySequence<byte>(message);
        Assert.True(parser(ref buffer, out var value), "The whole message did not parse.");
        Assert.Equal(0, buffer.Length);
        return value;
    }

    /// <summary>Parses <paramref name="message"/> in every shape; each must consume all of it.</summary>
    public static void ParsesInEveryShape<T>(SequenceParser<T> parser, byte[] message, Action<T> check)
    {
        foreach (var (shape, sequence) in TestSequence.AllShapes(message))
        {
            InShape(shape, () =>
            {
                var buffer = sequence;
                Assert.True(parser(ref buffer, out var value), "The message did not parse.");
                Assert.Equal(0, buffer.Length);
                Assert.Equal(sequence.End, buffer.End);
                check(value);
            });
        }
    }

    /// <summary>Every proper prefix of <paramref name="message"/>, in every shape, returns false and moves nothing.</summary>
    public static void NeedsMoreForEveryPrefix<T>(SequenceParser<T> parser, byte[] message)
    {
        for (var length = 0; length < message.Length; length++)
        {
            var prefix = message[..length];
            foreach (var (shape, sequence) in TestSequence.AllShapes(prefix))
            {
                InShape($"{length}-byte prefix, {shape}", () =>
                {
                    var buffer = sequence;
                    Assert.False(parser(ref buffer, out _), "A truncated message parsed.");
                    Assert.Equal(sequence.Start, buffer.Start);
                    Assert.Equal(sequence.End, buffer.End);
                    Assert.Equal(sequence.Length, buffer.Length);
                });
            }
        }
    }

    /// <summary>
    /// Parses <paramref name="message"/> followed by <paramref name="extra"/> in every shape: exactly the message is
    /// consumed, and exactly <paramref name="extra"/> is left for the next stage.
    /// </summary>
    public static void ParsesPipelined<T>(SequenceParser<T> parser, byte[] message, byte[] extra, Action<T> check)
    {
        foreach (var (shape, sequence) in TestSequence.AllShapes([.. message, .. extra]))
        {
            InShape(shape, () =>
            {
                var buffer = sequence;
                Assert.True(parser(ref buffer, out var value), "The message did not parse.");
                Assert.Equal(extra.Length, buffer.Length);
                Assert.Equal(extra, buffer.ToArray());
                Assert.Equal(sequence.End, buffer.End);
                check(value);
            });
        }
    }

    /// <summary><paramref name="bytes"/>, in every shape, throws with <paramref name="expected"/>.</summary>
    public static void Throws<T>(SequenceParser<T> parser, byte[] bytes, Socks5Error expected)
    {
        foreach (var (shape, sequence) in TestSequence.AllShapes(bytes))
        {
            InShape(shape, () =>
            {
                var exception = Assert.Throws<Socks5ProtocolException>(() =>
                {
                    var buffer = sequence;
                    parser(ref buffer, out _);
                });
                Assert.Equal(expected, exception.Error);
            });
        }
    }

    /// <summary><paramref name="bytes"/>, in every shape, throws with <paramref name="expected"/>.</summary>
    public static void Throws<T>(SequenceParser<T> parser, byte[] bytes, ProxyHeaderError expected)
    {
        foreach (var (shape, sequence) in TestSequence.AllShapes(bytes))
        {
            InShape(shape, () =>
            {
                var exception = Assert.Throws<ProxyProtocolException>(() =>
                {
                    var buffer = sequence;
                    parser(ref buffer, out _);
                });
                Assert.Equal(expected, exception.Error);
            });
        }
    }

    /// <summary><paramref name="bytes"/>, in every shape, throws with <paramref name="expected"/>.</summary>
    public static void Throws<T>(SequenceParser<T> parser, byte[] bytes, ConnectUdpError expected)
    {
        foreach (var (shape, sequence) in TestSequence.AllShapes(bytes))
        {
            InShape(shape, () =>
            {
                var exception = Assert.Throws<ConnectUdpProtocolException>(() =>
                {
                    var buffer = sequence;
                    parser(ref buffer, out _);
                });
                Assert.Equal(expected, exception.Error);
            });
        }
    }

    /// <summary>Runs <paramref name="assert"/>, naming <paramref name="shape"/> in any failure.</summary>
    public static void InShape(string shape, Action assert)
    {
        try
        {
            assert();
        }
        catch (XunitException e)
        {
            throw new XunitException($"[{shape}] {e.Message}");
        }
    }
}
