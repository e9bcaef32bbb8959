using KestrelSocks.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>curl, a third-party SOCKS5 client, fetches from a loopback HTTP server through the real host.</summary>
public sealed class CurlTests
{
    private const string Username = "alice";
    private const string Password = "s3cret-for-curl";

    private static readonly string[] s_passwordOnly =
    [
        "--KestrelSocks:Authentication:AllowAnonymous=false",
        "--KestrelSocks:Authentication:UsernamePassword=true",
        $"--KestrelSocks:Authentication:Users:0:Username={Username}",
        $"--KestrelSocks:Authentication:Users:0:Password={Password}",
    ];

    private readonly ITestOutputHelper _output;

    public CurlTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Socks5Hostname_Anonymous_ProxyResolvesTheNameAndFetches()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var http = TestHttpServer.Start();

        var result = await Curl.RunAsync("--socks5-hostname", host.SocksEndPoint.ToString(), $"http://localhost:{http.EndPoint.Port}/hello");

        AssertFetched(result, http);

        // socks5h: the name went to the proxy (ATYP 03), which resolved it.
        await host.Logs.AssertLoggedAsync($"connect localhost:{http.EndPoint.Port} reply succeeded");
    }

    [Fact]
    public async Task Socks5_Anonymous_ClientResolvesAndFetches()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var http = TestHttpServer.Start();

        var result = await Curl.RunAsync("--socks5", host.SocksEndPoint.ToString(), $"http://127.0.0.1:{http.EndPoint.Port}/hello");

        AssertFetched(result, http);
        await host.Logs.AssertLoggedAsync($"connect 127.0.0.1:{http.EndPoint.Port} reply succeeded");
    }

    [Theory]
    [InlineData("--socks5-hostname", "-U", "localhost")]
    [InlineData("--socks5-hostname", "--proxy-user", "localhost")]
    [InlineData("--socks5", "-U", "127.0.0.1")]
    [InlineData("--socks5", "--proxy-user", "127.0.0.1")]
    public async Task WithCredentials_AuthenticatesAndFetches(string proxyOption, string userOption, string httpHost)
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var http = TestHttpServer.Start();

        var result = await Curl.RunAsync(
            proxyOption, host.SocksEndPoint.ToString(), userOption, $"{Username}:{Password}", $"http://{httpHost}:{http.EndPoint.Port}/hello");

        AssertFetched(result, http);
        await host.Logs.AssertLoggedAsync($"user {Username}: connect");
    }

    [Fact]
    public async Task CredentialsInProxyUrl_BothMethodsEnabled_UsernamePasswordIsUsed()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly[1..]);
        await using var http = TestHttpServer.Start();

        var result = await Curl.RunAsync(
            "--proxy", $"socks5h://{Username}:{Password}@{host.SocksEndPoint}", $"http://localhost:{http.EndPoint.Port}/hello");

        AssertFetched(result, http);
        await host.Logs.AssertLoggedAsync($"user {Username}: connect");
    }

    [Theory]
    [InlineData("--socks5-hostname")]
    [InlineData("--socks5")]
    public async Task WrongPassword_FailsAndNothingIsFetched(string proxyOption)
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var http = TestHttpServer.Start();

        var result = await Curl.RunAsync(
            proxyOption, host.SocksEndPoint.ToString(), "--proxy-user", $"{Username}:not-{Password}", $"http://127.0.0.1:{http.EndPoint.Port}/hello");

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Empty(result.StandardOutput);
        Assert.Empty(http.RequestLines);
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "auth_failed"));
    }

    [Fact]
    public async Task NoCredentials_WhenPasswordRequired_FailsAndNothingIsFetched()
    {
        await using var host = await ProxyHost.StartAsync(_output, s_passwordOnly);
        await using var http = TestHttpServer.Start();

        var result = await Curl.RunAsync("--socks5-hostname", host.SocksEndPoint.ToString(), $"http://localhost:{http.EndPoint.Port}/hello");

        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Empty(http.RequestLines);
        await host.AssertMetricAsync(1, "kestrelsocks_handshake_failures_total", ("error_type", "no_acceptable_method"));
    }

    private static void AssertFetched(CurlResult result, TestHttpServer http)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(TestHttpServer.Body, result.StandardOutput);
        Assert.Equal("GET /hello HTTP/1.1", Assert.Single(http.RequestLines));
    }
}
