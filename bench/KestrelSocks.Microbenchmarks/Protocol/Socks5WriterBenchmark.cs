using System.Buffers;
using System.Net;
using BenchmarkDotNet.Attributes;
using KestrelSocks.Protocol;

namespace KestrelSocks.Microbenchmarks.Protocol;

/// <summary>
/// Every <see cref="Socks5Writer"/> message, written through <see cref="IBufferWriter{T}"/> (as into the connection's
/// PipeWriter) into one reusable <see cref="ArrayBufferWriter{T}"/> that is reset before each write, so the buffer
/// never grows and only the writer's own work is measured. The baseline is the smallest message, the two-byte method
/// selection: the fixed cost of GetSpan and Advance. Each invocation writes <see cref="InnerLoopCount"/> messages.
/// Target: 0 bytes allocated.
/// </summary>
[MemoryDiagnoser]
public class Socks5WriterBenchmark
{
    private const int InnerLoopCount = 100;

    // Room for the longest message (a username/password request), so no write ever resizes it.
    private readonly ArrayBufferWriter<byte> _output = new(Socks5Constants.MaxUsernamePasswordLength);
    private readonly AuthMethod[] _offeredMethods = [AuthMethod.NoAuthentication, AuthMethod.UsernamePassword];
    private readonly byte[] _username = "alice"u8.ToArray();
    private readonly byte[] _password = "correct-horse-42"u8.ToArray();
    private Socks5Address _boundIPv4;
    private Socks5Address _boundIPv6;
    private Socks5Address _domain;

    [GlobalSetup]
    public void Setup()
    {
        _boundIPv4 = Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 54321));
        _boundIPv6 = Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Parse("2001:db8::5"), 54321));
        _domain = Socks5Address.FromDomainName("www.example.com", 443);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = InnerLoopCount)]
    public int MethodSelection()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteMethodSelection(output, AuthMethod.UsernamePassword);
        }

        return output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int UsernamePasswordStatus()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteUsernamePasswordStatus(output, 0x00);
        }

        return output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int Reply_IPv4()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteReply(output, ReplyCode.Succeeded, _boundIPv4);
        }

        return output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int Reply_IPv6()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteReply(output, ReplyCode.Succeeded, _boundIPv6);
        }

        return output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int Reply_Domain()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteReply(output, ReplyCode.Succeeded, _domain);
        }

        return output.WrittenCount;
    }

    /// <summary>A failure reply, which names no address (ATYP IPv4, 0.0.0.0:0).</summary>
    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int Reply_Failure()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteReply(output, ReplyCode.ConnectionRefused);
        }

        return output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int Greeting()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteGreeting(output, _offeredMethods);
        }

        return output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int UsernamePassword()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteUsernamePassword(output, _username, _password);
        }

        return output.WrittenCount;
    }

    /// <summary>The client's request; its header and address are written by the same code as a reply's.</summary>
    [Benchmark(OperationsPerInvoke = InnerLoopCount)]
    public int Request_Domain()
    {
        var output = _output;
        for (var i = 0; i < InnerLoopCount; i++)
        {
            output.ResetWrittenCount();
            Socks5Writer.WriteRequest(output, Socks5Command.Connect, _domain);
        }

        return output.WrittenCount;
    }
}
