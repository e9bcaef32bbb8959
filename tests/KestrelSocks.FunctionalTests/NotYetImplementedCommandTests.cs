using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// BIND and UDP ASSOCIATE are answered with REP 07 until they are implemented, as RFC 1928 allows. These tests pin
/// today's behaviour on purpose: when either command lands, replace its test here with real BIND or UDP tests.
/// </summary>
public sealed class NotYetImplementedCommandTests
{
    private readonly ITestOutputHelper _output;

    public NotYetImplementedCommandTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Bind_NotImplementedYet_RepliesCommandNotSupported()
    {
        await using var host = await ProxyHost.StartAsync(_output);

        await ReplyCodeTests.AssertRequestFailsAsync(host, Socks5Command.Bind, ReplyCode.CommandNotSupported);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "bind"), ("socks_reply", "command_not_supported"));
    }

    [Fact]
    public async Task UdpAssociate_NotImplementedYet_RepliesCommandNotSupported()
    {
        await using var host = await ProxyHost.StartAsync(_output);

        await ReplyCodeTests.AssertRequestFailsAsync(host, Socks5Command.UdpAssociate, ReplyCode.CommandNotSupported);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "udp_associate"), ("socks_reply", "command_not_supported"));
    }
}
