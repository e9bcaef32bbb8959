using KestrelSocks.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;

namespace KestrelSocks.Hosting;

/// <summary>Builds the whole proxy host: the executable and the end-to-end tests start exactly the same thing.</summary>
public static class KestrelSocksApplication
{
    /// <summary>
    /// Runs socket completions inline on the socket engine's threads unless the environment already says otherwise.
    /// The runtime reads the switch once, when the first socket is used, so an executable calls this first of all;
    /// a test host gets it from its own environment instead. See README, "Threads".
    /// </summary>
    public static void UseInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable(SocketEngineThread.InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(SocketEngineThread.InlineCompletionsVariable, "1");
        }
    }

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Services.AddKestrelSocks();
        configure?.Invoke(builder);

        var app = builder.Build();
        MapAdminEndpoints(app);
        return app;
    }

    private static void MapAdminEndpoints(WebApplication app)
    {
        // Only the admin listeners speak HTTP; the SOCKS listeners never reach this pipeline.
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
    }
}
