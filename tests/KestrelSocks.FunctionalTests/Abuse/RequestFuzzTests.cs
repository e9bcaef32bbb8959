using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;

namespace KestrelSocks.FunctionalTests.Abuse;

/// <summary>
/// Twenty thousand mutated requests, from a fixed seed, against the real host: every command, every address type
/// and some that do not exist, domain names of 0, 1, 254 and 255 bytes (ASCII, invalid UTF-8, control characters,
/// addresses in text), then a byte flipped, the request cut short, garbage appended or the version or reserved byte
/// changed. Each connection must end with a reply or, for a request cut short, a plain close; never a reset, never an
/// error logged; and a tunnel open the whole time still works at the end. No destination is ever dialled: every
/// address is denied, so nothing leaves loopback.
/// </summary>
public sealed class RequestFuzzTests
{
    private const int Requests = 20_000;
    private const int Concurrency = 32;

    private static readonly byte[][] _textNames =
    [
        "127.1"u8.ToArray(), "0"u8.ToArray(), "::1%lo"u8.ToArray(), "[::]"u8.ToArray(), "0x7f000001"u8.ToArray(),
        "localhost"u8.ToArray(), "a\nwarn: forged"u8.ToArray(), "\u001b[31mred"u8.ToArray(), "nul\0name"u8.ToArray(), "..."u8.ToArray(),
    ];

    [Fact]
    public async Task MutatedRequests_AllGetAReplyOrAClose_NeverAResetOrAnError()
    {
        await using var host = await ProxyHost.StartAsync(
            output: null,
            [
                .. ProxyHost.ManyClientsFromOneAddress,
                "--KestrelSocks:Access:DeniedDestinations:0=0.0.0.0/0",
                "--KestrelSocks:Access:DeniedDestinations:1=::/0",
                "--KestrelSocks:Limits:ConnectTimeout=00:00:02",
                "--KestrelSocks:Bind:AcceptTimeout=00:00:02",
                "--KestrelSocks:Bind:AllowAnyPeer=true",
            ],
            configure: null);

        // Opened before the denial list matters: a loopback tunnel through a host without it would be refused too,
        // so this one goes to a port on the proxy's own host by BIND (peer: this test).
        await using var bystander = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        Assert.Equal(AuthMethod.NoAuthentication, await bystander.GreetAsync(AuthMethod.NoAuthentication));
        var bound = await bystander.RequestAsync(Socks5Command.Bind, Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 0)));
        Assert.Equal(ReplyCode.Succeeded, bound.Reply);
        using var peer = await LoopbackPeer.ConnectAsync(new IPEndPoint(bound.BoundAddress.ToIPAddress(), bound.BoundAddress.Port));
        Assert.Equal(ReplyCode.Succeeded, (await bystander.ReadReplyAsync()).Reply);

        var random = new Random(1928);
        var cases = Enumerable.Range(0, Requests).Select(_ => Mutate(random)).ToArray();
        var replied = 0;
        var closedShort = 0;
        var next = -1;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cases.Length)
            {
                var (bytes, mustReply) = cases[i];
                var outcome = await SendAsync(host.SocksEndPoint, bytes);
                switch (outcome)
                {
                    case Outcome.Replied:
                        Interlocked.Increment(ref replied);
                        break;
                    case Outcome.ClosedWithoutReply when !mustReply:
                        Interlocked.Increment(ref closedShort);
                        break;
                    default:
                        failures.Enqueue($"#{i} {outcome} for {Convert.ToHexString(bytes)}");
                        break;
                }
            }
        }));

        Assert.True(failures.IsEmpty, $"{failures.Count} requests went wrong, first: {string.Join(Environment.NewLine, failures.Take(5))}");
        Assert.Equal(Requests, replied + closedShort);
        Assert.InRange(replied, Requests / 2, Requests);
        Assert.Empty(host.Logs.Errors);

        // No session was disturbed.
        await LoopbackPeer.SendAllAsync(peer, "still here"u8.ToArray());
        Assert.Equal("still here"u8.ToArray(), await bystander.ReceiveExactlyAsync(10));

        // Log lines carry names escaped: nothing the fuzzer sent begins a line of its own.
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains('\n') || e.Message.Contains('\u001b') || e.Message.Contains('\0'));
    }

    private enum Outcome
    {
        Replied,
        ClosedWithoutReply,
        Reset,
        BadReply,
        NoMethodSelection,
        Hung,
    }

    private static async Task<Outcome> SendAsync(IPEndPoint proxy, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(TestTimeouts.Long);
        var received = new List<byte>();
        try
        {
            await socket.ConnectAsync(proxy, timeout.Token);
            byte[] greeting = [0x05, 0x01, 0x00];
            await socket.SendAsync((byte[])[.. greeting, .. request], SocketFlags.None, timeout.Token);
            socket.Shutdown(SocketShutdown.Send);
            var buffer = new byte[512];
            int count;
            while ((count = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, count));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset)
        {
            return Outcome.Reset;
        }
        catch (OperationCanceledException)
        {
            return Outcome.Hung;
        }

        if (received.Count < 2 || received[0] != 0x05 || received[1] != 0x00)
        {
            return Outcome.NoMethodSelection;
        }

        if (received.Count == 2)
        {
            return Outcome.ClosedWithoutReply;
        }

        // The first reply must be whole and well formed; a BIND that succeeded may send a second.
        var reply = new System.Buffers.ReadOnlySequence<byte>(received.Skip(2).ToArray());
        try
        {
            return Socks5Parser.TryParseReply(ref reply, out _) ? Outcome.Replied : Outcome.BadReply;
        }
        catch (Socks5ProtocolException)
        {
            return Outcome.BadReply;
        }
    }

    /// <summary>A request and whether it is whole and framed well enough that the server must answer it.</summary>
    private static (byte[] Bytes, bool MustReply) Mutate(Random random)
    {
        var command = random.Next(10) == 0 ? (byte)random.Next(256) : (byte)random.Next(1, 4);
        var type = random.Next(10) == 0 ? (byte)random.Next(256) : new byte[] { 1, 3, 4 }[random.Next(3)];
        var address = type switch
        {
            1 => RandomBytes(random, 4),
            4 => RandomBytes(random, 16),
            _ => Name(random),
        };
        var request = new List<byte> { 0x05, command, 0x00, type };
        if (type == 3)
        {
            request.Add((byte)address.Length);
        }

        request.AddRange(address);
        request.Add((byte)random.Next(256));
        request.Add((byte)random.Next(256));

        var bytes = request.ToArray();
        switch (random.Next(10))
        {
            case 0:
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                break;
            case 1:
                bytes = bytes[..random.Next(bytes.Length)];
                break;
            case 2:
                bytes = [.. bytes, .. RandomBytes(random, random.Next(1, 17))];
                break;
            case 3:
                bytes[0] = (byte)random.Next(256);
                break;
            case 4:
                bytes[2] = (byte)random.Next(1, 256);
                break;
        }

        return (bytes, MustReply(bytes));
    }

    private static bool MustReply(byte[] bytes)
    {
        if (bytes.Length < 4 || bytes[0] != 0x05)
        {
            return false;
        }

        var required = bytes[3] switch
        {
            1 => 10,
            4 => 22,
            3 when bytes.Length >= 5 => 7 + bytes[4],
            _ => int.MaxValue,
        };
        return bytes.Length >= required;
    }

    private static byte[] Name(Random random)
    {
        var length = random.Next(6) switch
        {
            0 => 0,
            1 => 1,
            2 => 254,
            3 => 255,
            _ => random.Next(2, 254),
        };
        return random.Next(4) switch
        {
            0 => RandomBytes(random, length),
            1 => _textNames[random.Next(_textNames.Length)],
            _ => Encoding.ASCII.GetBytes(Enumerable.Range(0, length).Select(_ => "abcdefghijklmnopqrstuvwxyz0123456789-."[random.Next(38)]).ToArray()),
        };
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
