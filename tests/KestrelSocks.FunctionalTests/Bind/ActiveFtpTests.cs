using System.Net;
using System.Text;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests.Bind;

/// <summary>
/// The use BIND exists for (RFC 1928 section 4): a client-server protocol where the server connects back, here
/// active-mode FTP. The control connection goes through CONNECT, the data connection comes in through BIND.
/// </summary>
public sealed class ActiveFtpTests
{
    private readonly ITestOutputHelper _output;

    public ActiveFtpTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task ActiveModeTransfer_FileArrivesOverTheBindTunnel_ByteForByte()
    {
        var file = new byte[1024 * 1024];
        new Random(21).NextBytes(file);
        await using var host = await ProxyHost.StartAsync(_output);
        await using var ftp = FtpLikeServer.Start(file);

        // Control: CONNECT to the server. Data: BIND on a second connection, for a peer at the server's address.
        await using var ftpControl = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, ftp.EndPoint);
        await using var data = await BindTests.RequestBindAsync(host.SocksEndPoint, ftp.EndPoint);
        var listening = await BindTests.ReadFirstReplyAsync(data);

        // Tell the server where to connect: the address of the first reply, as an FTP client behind a SOCKS proxy does.
        await ftpControl.SendAsync(FtpLikeServer.PortCommand(listening));
        Assert.Equal("150 opening data connection", await ReadLineAsync(ftpControl));

        var second = await data.ReadReplyAsync();
        Assert.Equal(ReplyCode.Succeeded, second.Reply);
        var serverDataEnd = await ftp.DataConnectedFrom.WaitAsync(TestTimeouts.Default);
        Assert.Equal(serverDataEnd, new IPEndPoint(second.BoundAddress.ToIPAddress(), second.BoundAddress.Port));

        var received = await data.ReadUntilClosedAsync();
        Assert.False(received.WasReset, "The data connection should end with the server's FIN.");
        ConnectTests.AssertSameBytes(file, received.Data);
        Assert.Equal("226 done", await ReadLineAsync(ftpControl));

        await host.AssertMetricAsync(1, "kestrelsocks_bind_sessions_total", ("socks_bind_result", "accepted"));
        await host.AssertMetricAsync(0, "kestrelsocks_bind_refused_peers_total");
    }

    /// <summary>Reads one CRLF-terminated line through the tunnel, a byte at a time.</summary>
    private static async Task<string> ReadLineAsync(SocksTestClient client)
    {
        var line = new StringBuilder();
        while (true)
        {
            var b = (await client.ReceiveExactlyAsync(1))[0];
            if (b == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)b);
        }
    }
}
