using System.Net.Sockets;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Sockets;

namespace KestrelSocks.Tests.Relay.Udp;

public sealed class UdpEventArgsPoolTests
{
    [Fact]
    public void RentAndReturn_OutstandingGoesBackToZero()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 4);

        var rented = Enumerable.Range(0, 3).Select(_ => pool.Rent()).ToList();
        Assert.Equal(3, pool.Outstanding);
        Assert.Equal(3, rented.Distinct().Count());

        pool.Return(rented[0]);
        Assert.Equal(2, pool.Outstanding);
        pool.Return(rented[1]);
        pool.Return(rented[2]);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Rent_AfterReturn_ReusesTheArgs()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 4);
        var first = pool.Rent();
        pool.Return(first);

        var second = pool.Rent();

        Assert.Same(first, second);
        Assert.Equal(1, pool.Outstanding);
        pool.Return(second);
    }

    [Fact]
    public void Rent_EmptyPool_MakesArgsThatPeekOneByte()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 1);

        var args = pool.Rent();

        Assert.Equal(SocketFlags.Peek, args.SocketFlags);
        Assert.Equal(1, args.Count);
        Assert.Null(args.Owner);
        pool.Return(args);
    }

    [Fact]
    public void Return_PastMaxPooled_DisposesTheExtraWithoutThrowing()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 1);
        var kept = pool.Rent();
        var extra = pool.Rent();

        pool.Return(kept);
        pool.Return(extra);

        Assert.Equal(0, pool.Outstanding);
        AssertDisposed(extra);
        AssertUsable(kept);

        // Only the pooled args come back; the next rent past it is new.
        var first = pool.Rent();
        var second = pool.Rent();
        Assert.Same(kept, first);
        Assert.NotSame(extra, second);
        pool.Return(first);
        pool.Return(second);
    }

    [Fact]
    public void Return_ZeroMaxPooled_DisposesEverything()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 0);
        var args = pool.Rent();

        pool.Return(args);

        AssertDisposed(args);
        Assert.NotSame(args, pool.Rent());
    }

    [Fact]
    public void Return_ClearsOwnerAndAcceptSocket()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 4);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var args = pool.Rent();
        args.Owner = new UdpSocketPump(socket, new NullDrainer(), pool);
        args.AcceptSocket = socket;

        pool.Return(args);

        Assert.Null(args.Owner);
        Assert.Null(args.AcceptSocket);
        var again = pool.Rent();
        Assert.Same(args, again);
        Assert.Null(again.Owner);
        pool.Return(again);
    }

    [Fact]
    public void Return_OverflowedArgs_AreClearedToo()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 0);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var args = pool.Rent();
        args.Owner = new UdpSocketPump(socket, new NullDrainer(), pool);

        pool.Return(args);

        Assert.Null(args.Owner);
    }

    [Fact]
    public void Dispose_DisposesPooledArgs()
    {
        var pool = new UdpEventArgsPool(maxPooled: 4);
        var first = pool.Rent();
        var second = pool.Rent();
        pool.Return(first);
        pool.Return(second);

        pool.Dispose();

        AssertDisposed(first);
        AssertDisposed(second);
    }

    [Fact]
    public async Task RentAndReturn_FromManyThreads_BalanceOut()
    {
        using var pool = new UdpEventArgsPool(maxPooled: 8);
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                var args = pool.Rent();
                pool.Return(args);
            }
        }));

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, pool.Outstanding);
    }

    /// <summary>A disposed SocketAsyncEventArgs refuses to be reconfigured.</summary>
    private static void AssertDisposed(UdpReadinessEventArgs args) =>
        Assert.Throws<ObjectDisposedException>(() => args.SetBuffer(SocketReadiness.PeekBuffer));

    private static void AssertUsable(UdpReadinessEventArgs args) => args.SetBuffer(SocketReadiness.PeekBuffer);

    private sealed class NullDrainer : IUdpDrainer
    {
        public bool Drain(Socket socket) => false;

        public void OnSocketFailed(Socket socket, SocketError error)
        {
        }
    }
}
