using System.Net;
using System.Net.Sockets;
using KestrelSocks.Sockets;
using KestrelSocks.Tests.Infrastructure;

namespace KestrelSocks.Tests.Sockets;

/// <summary>
/// splice(2) between real loopback TCP sockets and a kernel pipe. Linux only: elsewhere each test returns at once,
/// since the splice path is never taken there. The tests open descriptors, so they run with the other counting tests.
/// </summary>
[Collection(FileDescriptorCollection.Name)]
public sealed class LinuxSpliceTests
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void IsSupported_OnLinux()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        Assert.True(LinuxSplice.IsSupported);
    }

    [Fact]
    public void CreatePipe_GivesBothEndsOfOnePipe_AndCloseClosesThem()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var baseline = FileDescriptors.Count();

        var (read, write) = LinuxSplice.CreatePipe();
        var target = FileDescriptors.Target(read);

        Assert.NotNull(target);
        Assert.StartsWith("pipe:[", target, StringComparison.Ordinal);
        Assert.Equal(target, FileDescriptors.Target(write));
        Assert.Equal(baseline + 2, FileDescriptors.Count());

        LinuxSplice.Close(read);
        LinuxSplice.Close(write);

        Assert.Equal(baseline, FileDescriptors.Count());
        Assert.NotEqual(target, FileDescriptors.Target(read));
    }

    [Fact]
    public void Move_SocketToPipeToSocket_MovesTheBytes()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        // client → source, splice through the pipe, destination → peer: the shape of one tunnel direction.
        var (client, source) = ConnectedPair();
        var (peer, destination) = ConnectedPair();
        var pipe = LinuxSplice.CreatePipe();
        try
        {
            var payload = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7)).ToArray();
            client.Send(payload);

            var moved = 0;
            while (moved < payload.Length)
            {
                WaitReadable(source);
                var chunk = LinuxSplice.Move(Fd(source), pipe.Write, 64 * 1024);
                Assert.True(chunk > 0, $"Move from the socket gave {chunk} after {moved} bytes.");

                var pending = chunk;
                while (pending > 0)
                {
                    var sent = LinuxSplice.Move(pipe.Read, Fd(destination), pending);
                    Assert.True(sent > 0, $"Move to the socket gave {sent} with {pending} bytes in the pipe.");
                    pending -= sent;
                }

                moved += chunk;
            }

            Assert.Equal(payload.Length, moved);
            Assert.Equal(payload, ReceiveExactly(peer, payload.Length));

            // Everything moved: the pipe and the source are empty.
            Assert.Equal(-1, LinuxSplice.Move(pipe.Read, Fd(destination), 1024));
            Assert.Equal(-1, LinuxSplice.Move(Fd(source), pipe.Write, 1024));
        }
        finally
        {
            LinuxSplice.Close(pipe.Read);
            LinuxSplice.Close(pipe.Write);
            DisposeAll(client, source, destination, peer);
        }
    }

    [Fact]
    public void Move_EmptySourceSocket_ReturnsMinusOne()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var (client, source) = ConnectedPair();
        var pipe = LinuxSplice.CreatePipe();
        try
        {
            Assert.Equal(-1, LinuxSplice.Move(Fd(source), pipe.Write, 64 * 1024));
        }
        finally
        {
            LinuxSplice.Close(pipe.Read);
            LinuxSplice.Close(pipe.Write);
            DisposeAll(client, source);
        }
    }

    [Fact]
    public void Move_EmptyPipe_ReturnsMinusOne()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var (client, destination) = ConnectedPair();
        var pipe = LinuxSplice.CreatePipe();
        try
        {
            Assert.Equal(-1, LinuxSplice.Move(pipe.Read, Fd(destination), 64 * 1024));
        }
        finally
        {
            LinuxSplice.Close(pipe.Read);
            LinuxSplice.Close(pipe.Write);
            DisposeAll(client, destination);
        }
    }

    [Fact]
    public void Move_SourceAtEndOfStream_ReturnsZero()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var (client, source) = ConnectedPair();
        var pipe = LinuxSplice.CreatePipe();
        try
        {
            client.Shutdown(SocketShutdown.Send);
            WaitReadable(source);

            Assert.Equal(0, LinuxSplice.Move(Fd(source), pipe.Write, 64 * 1024));
        }
        finally
        {
            LinuxSplice.Close(pipe.Read);
            LinuxSplice.Close(pipe.Write);
            DisposeAll(client, source);
        }
    }

    [Fact]
    public void Read_TakesWhatThePipeHolds_ThenMinusOne()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        var (client, source) = ConnectedPair();
        var pipe = LinuxSplice.CreatePipe();
        try
        {
            byte[] payload = [1, 2, 3, 4, 5, 6, 7, 8, 9];
            client.Send(payload);
            WaitReadable(source);
            Assert.Equal(payload.Length, LinuxSplice.Move(Fd(source), pipe.Write, 1024));

            var buffer = new byte[64];
            var read = LinuxSplice.Read(pipe.Read, buffer);

            Assert.Equal(payload.Length, read);
            Assert.Equal(payload, buffer[..read]);
            Assert.Equal(-1, LinuxSplice.Read(pipe.Read, buffer));
        }
        finally
        {
            LinuxSplice.Close(pipe.Read);
            LinuxSplice.Close(pipe.Write);
            DisposeAll(client, source);
        }
    }

    [Fact]
    public void Move_AllSocketsClosed_LeavesNoDescriptorBehind()
    {
        if (!OperatingSystem.IsLinux())
        {
            // splice(2) and pipe2(2) exist only on Linux; there is nothing to test elsewhere.
            return;
        }

        // Warm up whatever the runtime opens once for sockets, so only this test's descriptors are counted.
        var (warmClient, warmServer) = ConnectedPair();
        DisposeAll(warmClient, warmServer);
        var baseline = FileDescriptors.Count();

        var (client, source) = ConnectedPair();
        var pipe = LinuxSplice.CreatePipe();
        client.Send([42]);
        WaitReadable(source);
        Assert.Equal(1, LinuxSplice.Move(Fd(source), pipe.Write, 16));
        Assert.Equal(1, LinuxSplice.Read(pipe.Read, new byte[1]));
        LinuxSplice.Close(pipe.Read);
        LinuxSplice.Close(pipe.Write);
        DisposeAll(client, source);

        Assert.Equal(baseline, FileDescriptors.Count());
    }

    /// <summary>
    /// A connected loopback TCP pair: the test drives the blocking end, and splices on the other, non-blocking as
    /// the relay's sockets are.
    /// </summary>
    private static (Socket Driver, Socket Relay) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        Assert.True(listener.Poll(_timeout, SelectMode.SelectRead), "The connection was not accepted in time.");
        var server = listener.Accept();
        client.NoDelay = true;
        server.NoDelay = true;
        server.Blocking = false;
        return (client, server);
    }

    private static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    private static void WaitReadable(Socket socket) =>
        Assert.True(socket.Poll(_timeout, SelectMode.SelectRead), "Nothing became readable in time.");

    private static byte[] ReceiveExactly(Socket socket, int length)
    {
        var received = new byte[length];
        var offset = 0;
        while (offset < length)
        {
            WaitReadable(socket);
            var count = socket.Receive(received.AsSpan(offset), SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                continue;
            }

            Assert.Equal(SocketError.Success, error);
            Assert.True(count > 0, $"The stream ended after {offset} of {length} bytes.");
            offset += count;
        }

        return received;
    }

    private static void DisposeAll(params Socket[] sockets)
    {
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }
}
