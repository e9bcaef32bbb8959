using System.Net;
using System.Net.Sockets;
using KestrelSocks.Configuration;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Commands;

/// <summary>
/// Connects to the first address of a list that answers, RFC 8305 style: addresses interleaved by family
/// (starting with the resolver's first choice), each attempt given a head start of the connection attempt delay
/// before the next starts, and a failed attempt starting the next at once. The first connected socket wins;
/// the others are cancelled and closed.
/// </summary>
internal sealed class HappyEyeballsConnector
{
    private readonly TimeSpan _attemptDelay;

    public HappyEyeballsConnector(IOptions<KestrelSocksOptions> options)
    {
        _attemptDelay = options.Value.Connect.HappyEyeballsDelay;
    }

    /// <exception cref="SocketException">Every attempt failed; the error is the most telling of them.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public async Task<Socket> ConnectAsync(IReadOnlyList<IPAddress> addresses, int port, CancellationToken cancellationToken)
    {
        if (addresses.Count == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        if (addresses.Count == 1)
        {
            return await AttemptAsync(addresses[0], port, cancellationToken);
        }

        var ordered = Interleave(addresses);
        using var attemptsCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = new List<Task<Socket>>(ordered.Length);
        SocketError bestError = SocketError.SocketError;
        var next = 0;
        try
        {
            while (true)
            {
                if (next < ordered.Length)
                {
                    running.Add(AttemptAsync(ordered[next++], port, attemptsCts.Token));
                }

                if (running.Count == 0)
                {
                    throw new SocketException((int)bestError);
                }

                var headStart = next < ordered.Length
                    ? Task.Delay(_attemptDelay, attemptsCts.Token)
                    : Task.Delay(Timeout.Infinite, attemptsCts.Token);
                var finished = await Task.WhenAny([.. running, headStart]);
                cancellationToken.ThrowIfCancellationRequested();
                if (finished == headStart)
                {
                    continue;
                }

                var attempt = (Task<Socket>)finished;
                running.Remove(attempt);
                if (attempt.IsCompletedSuccessfully)
                {
                    return attempt.Result;
                }

                if (attempt.Exception?.InnerException is SocketException error
                    && ReplyCodes.Rank(error.SocketErrorCode) >= ReplyCodes.Rank(bestError))
                {
                    bestError = error.SocketErrorCode;
                }
            }
        }
        finally
        {
            attemptsCts.Cancel();
            foreach (var loser in running)
            {
                _ = CloseWhenConnectedAsync(loser);
            }
        }
    }

    internal static IPAddress[] Interleave(IReadOnlyList<IPAddress> addresses)
    {
        var firstFamily = addresses[0].AddressFamily;
        var preferred = new Queue<IPAddress>();
        var other = new Queue<IPAddress>();
        foreach (var address in addresses)
        {
            (address.AddressFamily == firstFamily ? preferred : other).Enqueue(address);
        }

        var result = new IPAddress[addresses.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var takePreferred = (i % 2 == 0 && preferred.Count > 0) || other.Count == 0;
            result[i] = (takePreferred ? preferred : other).Dequeue();
        }

        return result;
    }

    private static async Task<Socket> AttemptAsync(IPAddress address, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task CloseWhenConnectedAsync(Task<Socket> attempt)
    {
        try
        {
            (await attempt).Dispose();
        }
        catch (Exception)
        {
            // A cancelled or failed loser has already closed its socket.
        }
    }
}
