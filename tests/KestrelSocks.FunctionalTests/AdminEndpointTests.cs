using System.Net;
using KestrelSocks.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelSocks.FunctionalTests;

/// <summary>Health probes on the admin port.</summary>
public sealed class AdminEndpointTests
{
    private readonly ITestOutputHelper _output;

    public AdminEndpointTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData("/healthz/live")]
    [InlineData("/healthz/ready")]
    [InlineData("/healthz")]
    public async Task HealthProbe_RunningHost_Returns200(string path)
    {
        await using var host = await ProxyHost.StartAsync(_output);

        using var response = await host.GetAdminAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SocksPort_DoesNotServeHttp()
    {
        await using var host = await ProxyHost.StartAsync(_output);
        await using var client = await SocksTestClient.ConnectAsync(host.SocksEndPoint);

        await client.SendAsync("GET /healthz/live HTTP/1.1\r\nHost: proxy\r\n\r\n");

        await client.AssertClosedWithoutReplyAsync();
    }
}
