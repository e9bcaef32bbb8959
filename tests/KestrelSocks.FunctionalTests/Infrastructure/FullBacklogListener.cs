using System.Net;
using System.Net.Sockets;

namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A loopback destination that never answers a connect: a listener that never accepts, with its accept queue filled.
/// Linux drops a SYN to a listener whose accept queue is full, so a further connect is neither accepted nor refused;
/// it times out, which is the one way to provoke REP 06 on loopback.
/// </summary>
internal sealed class FullBacklogListener : IAsyncDisposable
{
    // A connect that has not completed after this long is taken as a dropped SYN (loopback connects take microseconds).
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(1);
    private const int MaxFillers = 64;

    private readonly Socket _listener;
    private readonly List<Socket> _fillers;

    private FullBacklogListener(Socket listener, List<Socket> fillers)
    {
        _listener = listener;
        _fillers = fillers;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Connects until a connect stalls, which proves the queue is full: the test never relies on a guessed size.</summary>
    public static async Task<FullBacklogListener> StartAsync()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var fillers = new List<Socket>();
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var endPoint = listener.LocalEndPoint!;
            while (fillers.Count < MaxFillers)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                using var probe = new CancellationTokenSource(s_probeTimeout);
                try
                {
                    await filler.ConnectAsync(endPoint, probe.Token);
                    fillers.Add(filler);
                }
                catch (OperationCanceledException)
                {
                    filler.Dispose();
                    return new FullBacklogListener(listener, fillers);
                }
            }
        }
        catch
        {
            Close(listener, fillers);
            throw;
        }

        Close(listener, fillers);
        throw new InvalidOperationException(
            $"{MaxFillers} connects to a listener with backlog 1 all succeeded: this network stack does not drop SYNs to a full accept queue.");
    }

    public ValueTask DisposeAsync()
    {
        Close(_listener, _fillers);
        return ValueTask.CompletedTask;
    }

    private static void Close(Socket listener, List<Socket> fillers)
    {
        foreach (var filler in fillers)
        {
            filler.Dispose();
        }

        listener.Dispose();
    }
}
