using System.Net;
using System.Net.Sockets;
using KestrelSocks.Sockets.Linux;

namespace KestrelSocks.Tests.Sockets.Linux;

public sealed class ReusePortSteeringTests
{
    [Theory]
    [InlineData("127.0.0.1", 2)]
    [InlineData("127.0.0.1", 3)]
    [InlineData("::1", 2)]
    public async Task EachDatagramReachesTheSocketAtItsSourcePortModuloTheGroupSize(string client, int count)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var group = new List<Socket>();
        var senders = new List<Socket>();
        try
        {
            var port = 0;
            for (var i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
                group.Add(socket);
                ReusePortSteering.AllowReuse(socket);
                socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            }

            ReusePortSteering.Attach(group[0], count);
            var target = new IPEndPoint(IPAddress.Parse(client).AddressFamily == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, port);
            for (var i = 0; i < 24; i++)
            {
                var sender = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                senders.Add(sender);
                sender.Bind(new IPEndPoint(IPAddress.Parse(client), 0));
                await sender.SendToAsync(BitConverter.GetBytes(((IPEndPoint)sender.LocalEndPoint!).Port), SocketFlags.None, target);
            }

            // Every sender's datagram is where its port says, and nowhere else. Loopback delivers at once; the wait
            // only bounds a failure.
            var received = 0;
            var buffer = new byte[16];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (received < senders.Count)
            {
                var any = false;
                for (var index = 0; index < count; index++)
                {
                    while (group[index].Available > 0)
                    {
                        var result = await group[index].ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.IPv6Any, 0), timeout.Token);
                        var sourcePort = ((IPEndPoint)result.RemoteEndPoint).Port;
                        Assert.Equal(sourcePort, BitConverter.ToInt32(buffer));
                        Assert.Equal(sourcePort % count, index);
                        received++;
                        any = true;
                    }
                }

                if (!any)
                {
                    await Task.Delay(10, timeout.Token);
                }
            }

            Assert.Equal(senders.Count, received);
        }
        finally
        {
            group.ForEach(s => s.Dispose());
            senders.ForEach(s => s.Dispose());
        }
    }
}
