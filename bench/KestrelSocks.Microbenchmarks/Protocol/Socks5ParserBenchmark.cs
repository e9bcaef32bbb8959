using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using KestrelSocks.Microbenchmarks.Infrastructure;
using KestrelSocks.Protocol;

namespace KestrelSocks.Microbenchmarks.Protocol;

/// <summary>
/// Every <see cref="Socks5Parser"/> entry point, on one whole message in a single segment (the baseline of each
/// category) and on the same message split one byte per segment, the worst case, where every field and every
/// multi-byte read crosses a segment boundary. Each invocation parses <see cref="InnerLoopCount"/> messages.
/// Target: 0 bytes allocated.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class Socks5ParserBenchmark
{
    private const int InnerLoopCount = 100;
    private const int MultiSegmentSize = 1;

    private Input _greeting;
    private Input _methodSelection;
    private Input _usernamePassword;
    private Input _usernamePasswordStatus;
    private Input _requestIPv4;
    private Input _requestIPv6;
    private Input _requestDomain;
    private Input _reply;

    [GlobalSetup]
    public void Setup()
    {
        _greeting = new Input(Socks5Messages.Greeting);
        _methodSelection = new Input(Socks5Messages.MethodSelection);
        _usernamePassword = new Input(Socks5Messages.UsernamePassword);
        _usernamePasswordStatus = new Input(Socks5Messages.UsernamePasswordStatus);
        _requestIPv4 = new Input(Socks5Messages.RequestIPv4);
        _requestIPv6 = new Input(Socks5Messages.RequestIPv6);
        _requestDomain = new Input(Socks5Messages.RequestDomain);
        _reply = new Input(Socks5Messages.ReplyIPv4);

        // Measure the success path only: every input must parse as exactly one whole message, on one segment and on many.
        Check(_greeting, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseGreeting(ref buffer, out _));
        Check(_methodSelection, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseMethodSelection(ref buffer, out _));
        Check(_usernamePassword, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseUsernamePassword(ref buffer, out _));
        Check(_usernamePasswordStatus, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseUsernamePasswordStatus(ref buffer, out _));
        Check(_requestIPv4, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseRequest(ref buffer, out _));
        Check(_requestIPv6, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseRequest(ref buffer, out _));
        Check(_requestDomain, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseRequest(ref buffer, out _));
        Check(_reply, static (ref ReadOnlySequence<byte> buffer) => Socks5Parser.TryParseReply(ref buffer, out _));
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Greeting")]
    public int Greeting_SingleSegment() => ParseGreetings(_greeting.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Greeting")]
    public int Greeting_MultiSegment() => ParseGreetings(_greeting.MultiSegment);

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("MethodSelection")]
    public int MethodSelection_SingleSegment() => ParseMethodSelections(_methodSelection.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("MethodSelection")]
    public int MethodSelection_MultiSegment() => ParseMethodSelections(_methodSelection.MultiSegment);

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("UsernamePassword")]
    public int UsernamePassword_SingleSegment() => ParseUsernamePasswords(_usernamePassword.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("UsernamePassword")]
    public int UsernamePassword_MultiSegment() => ParseUsernamePasswords(_usernamePassword.MultiSegment);

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("UsernamePasswordStatus")]
    public int UsernamePasswordStatus_SingleSegment() => ParseUsernamePasswordStatuses(_usernamePasswordStatus.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("UsernamePasswordStatus")]
    public int UsernamePasswordStatus_MultiSegment() => ParseUsernamePasswordStatuses(_usernamePasswordStatus.MultiSegment);

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("RequestIPv4")]
    public int RequestIPv4_SingleSegment() => ParseRequests(_requestIPv4.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("RequestIPv4")]
    public int RequestIPv4_MultiSegment() => ParseRequests(_requestIPv4.MultiSegment);

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("RequestIPv6")]
    public int RequestIPv6_SingleSegment() => ParseRequests(_requestIPv6.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("RequestIPv6")]
    public int RequestIPv6_MultiSegment() => ParseRequests(_requestIPv6.MultiSegment);

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("RequestDomain")]
    public int RequestDomain_SingleSegment() => ParseRequests(_requestDomain.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("RequestDomain")]
    public int RequestDomain_MultiSegment() => ParseRequests(_requestDomain.MultiSegment);

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Reply")]
    public int Reply_SingleSegment() => ParseReplies(_reply.SingleSegment);

    [Benchmark(OperationsPerInvoke = InnerLoopCount), BenchmarkCategory("Reply")]
    public int Reply_MultiSegment() => ParseReplies(_reply.MultiSegment);

    // Each loop parses from a fresh copy of the input (TryParse moves it past the message) and folds a field of the
    // result into the return value, so the JIT cannot drop the work.
    private static int ParseGreetings(ReadOnlySequence<byte> input)
    {
        var parsed = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            var buffer = input;
            if (Socks5Parser.TryParseGreeting(ref buffer, out var greeting) && greeting.Methods.Contains(AuthMethod.UsernamePassword))
            {
                parsed++;
            }
        }

        return parsed;
    }

    private static int ParseMethodSelections(ReadOnlySequence<byte> input)
    {
        var parsed = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            var buffer = input;
            if (Socks5Parser.TryParseMethodSelection(ref buffer, out var method) && method == AuthMethod.UsernamePassword)
            {
                parsed++;
            }
        }

        return parsed;
    }

    private static int ParseUsernamePasswords(ReadOnlySequence<byte> input)
    {
        var parsed = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            var buffer = input;
            if (Socks5Parser.TryParseUsernamePassword(ref buffer, out var request) && request.Password.Length > 0)
            {
                parsed++;
            }
        }

        return parsed;
    }

    private static int ParseUsernamePasswordStatuses(ReadOnlySequence<byte> input)
    {
        var parsed = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            var buffer = input;
            if (Socks5Parser.TryParseUsernamePasswordStatus(ref buffer, out var status) && status == 0)
            {
                parsed++;
            }
        }

        return parsed;
    }

    private static int ParseRequests(ReadOnlySequence<byte> input)
    {
        var parsed = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            var buffer = input;
            if (Socks5Parser.TryParseRequest(ref buffer, out var request) && request.Destination.Port == 443)
            {
                parsed++;
            }
        }

        return parsed;
    }

    private static int ParseReplies(ReadOnlySequence<byte> input)
    {
        var parsed = 0;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            var buffer = input;
            if (Socks5Parser.TryParseReply(ref buffer, out var reply) && reply.Reply == ReplyCode.Succeeded)
            {
                parsed++;
            }
        }

        return parsed;
    }

    private static void Check(Input input, ParseOne parse)
    {
        foreach (var sequence in (ReadOnlySpan<ReadOnlySequence<byte>>)[input.SingleSegment, input.MultiSegment])
        {
            var buffer = sequence;
            if (!parse(ref buffer) || !buffer.IsEmpty)
            {
                throw new InvalidOperationException("A benchmark input does not parse as exactly one whole message.");
            }
        }

        if (input.MultiSegment.IsSingleSegment)
        {
            throw new InvalidOperationException("A multi-segment benchmark input has one segment.");
        }
    }

    private delegate bool ParseOne(ref ReadOnlySequence<byte> buffer);

    private readonly struct Input
    {
        public Input(ReadOnlySpan<byte> message)
        {
            SingleSegment = new ReadOnlySequence<byte>(message.ToArray());
            MultiSegment = BufferSegment.CreateSequence(message, MultiSegmentSize);
        }

        public ReadOnlySequence<byte> SingleSegment { get; }

        public ReadOnlySequence<byte> MultiSegment { get; }
    }
}
