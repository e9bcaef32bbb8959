using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>
/// BIND and UDP ASSOCIATE are implemented (see the Bind and Udp folders) but each can be switched off by
/// configuration; then it is answered with REP 07, like a command the server does not know (which
/// <see cref="ReplyCodeTests.UnknownCommand_RepliesCommandNotSupported"/> covers).
/// </summary>
public sealed class DisabledCommandTests
{
    private readonly ITestOutputHelper _output;

    public DisabledCommandTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Bind_DisabledByConfiguration_RepliesCommandNotSupported()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Bind:Enabled=false");

        await ReplyCodeTests.AssertRequestFailsAsync(host, Socks5Command.Bind, ReplyCode.CommandNotSupported);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "bind"), ("socks_reply", "command_not_supported"));
        await host.AssertMetricAsync(0, "kestrelsocks_bind_sessions_total");
    }

    [Fact]
    public async Task UdpAssociate_DisabledByConfiguration_RepliesCommandNotSupported()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Udp:Enabled=false");

        await ReplyCodeTests.AssertRequestFailsAsync(host, Socks5Command.UdpAssociate, ReplyCode.CommandNotSupported);
        await host.AssertMetricAsync(1, "kestrelsocks_sessions_total", ("socks_command", "udp_associate"), ("socks_reply", "command_not_supported"));
        await host.AssertMetricAsync(0, "kestrelsocks_udp_associations_active");
    }
}
