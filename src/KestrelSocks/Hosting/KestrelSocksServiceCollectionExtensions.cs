using KestrelSocks.Access;
using KestrelSocks.Authentication;
using KestrelSocks.Commands;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Hosting;
using KestrelSocks.Limits;
using KestrelSocks.Relay.Udp;
using KestrelSocks.Session;
using KestrelSocks.Sockets;
using KestrelSocks.Transport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the proxy: options, transport, listeners, sessions, metrics and health.</summary>
internal static class KestrelSocksServiceCollectionExtensions
{
    public static IServiceCollection AddKestrelSocks(this IServiceCollection services)
    {
        services.AddOptions<KestrelSocksOptions>()
            .BindConfiguration(KestrelSocksOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<KestrelSocksOptions>, KestrelSocksOptionsValidator>();
        services.AddSingleton<IValidateOptions<KestrelSocksOptions>, ConfigurationKeysValidator>();

        services.AddMetrics();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IValidateOptions<KestrelSocksOptions>, UsersFileValidator>();
        services.AddSingleton<UserStore>();
        services.AddHostedService(static sp => sp.GetRequiredService<UserStore>());
        services.AddSingleton<Authenticator>();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<UserLimits>();
        services.AddSingleton<HappyEyeballsConnector>();
        services.AddSingleton<ConnectCommand>();
        services.AddSingleton<BindCommand>();
        services.AddSingleton<UdpAssociateCommand>();
        services.AddSingleton<UdpRelay>();
        services.AddHostedService(static sp => sp.GetRequiredService<UdpRelay>());
        services.AddSingleton(static sp =>
        {
            var budget = DescriptorBudget.Create(sp.GetRequiredService<IOptions<KestrelSocksOptions>>().Value.Limits);
            sp.GetRequiredService<SocksMetrics>().ObserveDescriptorBudget(() => budget.Capacity, () => budget.InUse);
            return budget;
        });
        services.AddSingleton<SessionAdmission>();
        services.AddSingleton<SessionServices>();
        services.AddSingleton<Socks5ConnectionHandler>();
        services.AddSingleton<ProxyHeaderReader>();
        services.AddSingleton<ShutdownSignal>();
        services.AddSingleton<SocksEndPoints>();
        services.AddHostedService<StartupReporter>();
        services.AddHostedService<SelfEndPointsPublisher>();

        // Registered after UseKestrel's default: Kestrel tries the last-registered factory first.
        services.AddSingleton<SocketTransportFactory>();
        services.AddSingleton<IConnectionListenerFactory>(static sp => sp.GetRequiredService<SocketTransportFactory>());

        services.AddSingleton(static sp =>
        {
            var admission = sp.GetRequiredService<SessionAdmission>();
            var transport = sp.GetRequiredService<SocketTransportFactory>();
            var endPoints = sp.GetRequiredService<SocksEndPoints>();
            return new ShutdownDrain(
                sp.GetRequiredService<IOptions<KestrelSocksOptions>>().Value.Limits,
                () => admission.ActiveSessions,
                admission.WhenNoSessionsAsync,
                () => transport.CloseListeners(endPoints.Socks),
                sp.GetRequiredService<ShutdownSignal>(),
                sp.GetRequiredService<SocksMetrics>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<ShutdownDrain>>());
        });
        services.AddHostedService(static sp => sp.GetRequiredService<ShutdownDrain>());

        services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<KestrelSocksOptions>, SocksEndPoints>(ConfigureListeners);

        // The drain runs inside the host's shutdown timeout; Kestrel aborts what is left when it ends.
        services.AddOptions<HostOptions>()
            .Configure<IOptions<KestrelSocksOptions>>((host, socks) => host.ShutdownTimeout = ShutdownDrain.ShutdownTimeout(socks.Value.Limits));

        services.AddHealthChecks().AddCheck<ReadinessHealthCheck>("ready", tags: ["ready"]);
        services.AddKestrelSocksPrometheus();
        return services;
    }

    /// <summary>
    /// The one place that knows about the Prometheus exporter, a prerelease package: swapping it for OTLP touches only this method.
    /// </summary>
    private static void AddKestrelSocksPrometheus(this IServiceCollection services)
    {
        // The provider subscribes to the meter first, so the zeros written here are exported from the first scrape.
        services.AddSingleton(static sp =>
        {
            _ = sp.GetRequiredService<MeterProvider>();
            var metrics = ActivatorUtilities.CreateInstance<SocksMetrics>(sp);
            metrics.InitializeSeries();
            return metrics;
        });

        // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still override this default.
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("kestrelsocks"))
            .WithMetrics(metrics => metrics
            .AddMeter(MetricNames.MeterName, "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")

            // Prometheus reserves a _count suffix for histograms and summaries: promtool rejects these three gauges as named.
            .AddView("dotnet.assembly.count", new MetricStreamConfiguration { Name = "dotnet.assemblies" })
            .AddView("dotnet.process.cpu.count", new MetricStreamConfiguration { Name = "dotnet.process.cpus" })
            .AddView("dotnet.timer.count", new MetricStreamConfiguration { Name = "dotnet.timers" })
            .AddPrometheusExporter());
    }

    private static void ConfigureListeners(KestrelServerOptions kestrel, IOptions<KestrelSocksOptions> options, SocksEndPoints endPoints)
    {
        var socks = options.Value;
        kestrel.AddServerHeader = false;
        foreach (var address in socks.EffectiveListen)
        {
            kestrel.Listen(EndPointParser.Parse(address), listen =>
            {
                listen.UseConnectionHandler<Socks5ConnectionHandler>();
                endPoints.AddSocks(listen, proxyProtocol: false);
            });
        }

        foreach (var address in socks.ProxyProtocol.Listen)
        {
            kestrel.Listen(EndPointParser.Parse(address), listen =>
            {
                // Resolved when Kestrel builds the listener's pipeline at bind, not while the options are configured.
                listen.Use(next =>
                {
                    var reader = listen.ApplicationServices.GetRequiredService<ProxyHeaderReader>();
                    return connection => reader.OnConnectedAsync(connection, next);
                });
                listen.UseConnectionHandler<Socks5ConnectionHandler>();
                endPoints.AddSocks(listen, proxyProtocol: true);
            });
        }

        if (socks.Admin.Enabled)
        {
            foreach (var address in socks.Admin.EffectiveListen)
            {
                kestrel.Listen(EndPointParser.Parse(address), listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;

                    // The admin endpoint lives on the descriptors the budget reserves: a bounded number of them.
                    listen.Use(AdminConnectionLimit.Create(AdminConnectionLimit.DefaultLimit));
                    endPoints.AddAdmin(listen);
                });
            }
        }
    }
}
