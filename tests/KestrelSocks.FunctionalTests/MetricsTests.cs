using System.Net;
using System.Net.Sockets;
using KestrelSocks.Diagnostics;
using KestrelSocks.FunctionalTests.Infrastructure;
using KestrelSocks.Protocol;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>The Prometheus scrape on the admin port shows the counters move as sessions succeed and fail.</summary>
public sealed class MetricsTests
{
    private readonly ITestOutputHelper _output;

    public MetricsTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Scrape_CountsSessionsHandshakeFailuresByReasonAndBytesByDirection()
    {
        await using var host = await ProxyHost.StartAsync(_output, "--KestrelSocks:Limits:HandshakeTimeout=00:00:01");
        await using var destination = ReplyAfterEofServer.Start();
        using var closedPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closedPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var before = await host.ScrapeMetricsAsync();
        Assert.Equal(0, before.Sum("kestrelsocks_sessions_total"));
        Assert.Equal(0, before.Sum("kestrelsocks_handshake_failures_total"));
        Assert.Equal(0, before.Sum("kestrelsocks_relay_bytes_total"));

        // One tunnel: 1,000 bytes up, then the destination's fixed answer down.
        var upload = new byte[1000];
        await using (var client = await SocksTestClient.OpenTunnelAsync(host.SocksEndPoint, destination.EndPoint))
        {
            await client.SendAsync(upload);
            client.ShutdownSend();
            Assert.Equal(ReplyAfterEofServer.ResponseFor(upload.Length), (await client.ReadUntilClosedAsync()).Data);
        }

        // One refused connect, and one handshake failure of each kind.
        await using (var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint))
        {
            await client.GreetAsync(AuthMethod.NoAuthentication);
            var reply = await client.RequestAsync(Socks5Command.Connect, Socks5Address.FromEndPoint((IPEndPoint)closedPort.LocalEndPoint!));
            Assert.Equal(ReplyCode.ConnectionRefused, reply.Reply);
        }

        await FailHandshakeAsync(host, "GET /metrics HTTP/1.1\r\n\r\n"u8.ToArray());
        await FailHandshakeAsync(host, [0x05, 0x01, 0x02]);
        await FailHandshakeAsync(host, [0x05, 0x01, 0x00, 0x05, 0x01, 0x01, 0x01, 127, 0, 0, 1, 0, 80]);
        await FailHandshakeAsync(host, [0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x02, 127, 0, 0, 1, 0, 80]);
        await FailHandshakeAsync(host, [0x05, 0x02, 0x00], shutdownSend: true);
        await FailHandshakeAsync(host, [0x05]);

        var expected = new (double Value, string Name, (string, string)[] Labels)[]
        {
            (1, "kestrelsocks_sessions_total", [("socks_command", "connect"), ("socks_reply", "succeeded")]),
            (1, "kestrelsocks_sessions_total", [("socks_command", "connect"), ("socks_reply", "connection_refused")]),
            (1, "kestrelsocks_handshake_failures_total", [("error_type", "bad_version")]),
            (1, "kestrelsocks_handshake_failures_total", [("error_type", "no_acceptable_method")]),
            (1, "kestrelsocks_handshake_failures_total", [("error_type", "malformed_request")]),
            (1, "kestrelsocks_handshake_failures_total", [("error_type", "unsupported_address_type")]),
            (1, "kestrelsocks_handshake_failures_total", [("error_type", "client_closed")]),
            (1, "kestrelsocks_handshake_failures_total", [("error_type", "timeout")]),
            (upload.Length, "kestrelsocks_relay_bytes_total", [("socks_direction", "upstream")]),
            (ReplyAfterEofServer.ResponseFor(upload.Length).Length, "kestrelsocks_relay_bytes_total", [("socks_direction", "downstream")]),
            (1, "kestrelsocks_connect_duration_seconds_count", [("socks_reply", "succeeded")]),
            (1, "kestrelsocks_connect_duration_seconds_count", [("socks_reply", "connection_refused")]),
            (8, "kestrelsocks_session_duration_seconds_count", []),
            (0, "kestrelsocks_sessions_active", []),
        };

        MetricsSnapshot? last = null;
        await Eventually.AssertAsync(
            async () =>
            {
                last = await host.ScrapeMetricsAsync();
                return expected.All(e => last.Sum(e.Name, e.Labels) == e.Value);
            },
            () => string.Join("; ", expected
                .Where(e => last is null || last.Sum(e.Name, e.Labels) != e.Value)
                .Select(e => $"{e.Name}{{{string.Join(",", e.Labels)}}} is {last?.Sum(e.Name, e.Labels)}, expected {e.Value}")));
    }

    [Fact]
    public async Task Scrape_OfAnIdleServer_HasGaugesAtZeroClosedSetCountersAtZeroAndBuildInfo()
    {
        await using var host = await ProxyHost.StartAsync(_output);

        var scrape = await host.ScrapeMetricsAsync();

        Assert.Equal(0, scrape.Require("kestrelsocks_sessions_active"));
        Assert.Equal(0, scrape.Require("kestrelsocks_udp_associations_active"));
        Assert.True(scrape.Require("kestrelsocks_descriptors_in_use") >= 0);
        Assert.True(scrape.Require("kestrelsocks_descriptors_budget") > 0);
        Assert.Equal(0, scrape.Require("kestrelsocks_connections_rejected_total", ("socks_reject_reason", "session_limit")));
        Assert.Equal(0, scrape.Require("kestrelsocks_udp_drops_total", ("socks_drop_reason", "policy")));
        Assert.Equal(0, scrape.Require("kestrelsocks_bind_sessions_total", ("socks_bind_result", "accepted")));
        Assert.Equal(0, scrape.Require("kestrelsocks_bind_refused_peers_total"));
        Assert.Equal(0, scrape.Require("kestrelsocks_auth_failures_total", ("socks_auth_failure", "failed")));
        Assert.Equal(0, scrape.Require("kestrelsocks_handshake_failures_total", ("error_type", "timeout")));
        Assert.Equal(
            0,
            scrape.Require("kestrelsocks_requests_refused_total", ("socks_command", "udp_associate"), ("socks_refusal_reason", "association_limit")));

        var build = BuildInfo.Current;
        Assert.Equal(1, scrape.Require("kestrelsocks_build_info", ("version", build.Version), ("commit", build.Commit)));
    }

    [Fact]
    public async Task Scrape_IsPrometheusTextOnTheAdminPortOnly()
    {
        await using var host = await ProxyHost.StartAsync(_output);

        using var response = await host.GetAdminAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE ", text, StringComparison.Ordinal);
        Assert.NotEqual(host.SocksEndPoint.Port, host.AdminEndPoint.Port);
    }

    private static async Task FailHandshakeAsync(ProxyHost host, byte[] bytes, bool shutdownSend = false)
    {
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);
        await client.SendAsync(bytes);
        if (shutdownSend)
        {
            client.ShutdownSend();
        }

        await client.ReadUntilClosedAsync();
    }
}
