using System.Net;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Hosting;

/// <summary>
/// Says where the proxy listens once it does and how socket completions run, and warns when anonymous access is open
/// beyond loopback.
/// </summary>
internal sealed class StartupReporter : IHostedService
{
    private readonly IHostApplicationLifetime _lifetime;
    private readonly SocksEndPoints _endPoints;
    private readonly KestrelSocksOptions _options;
    private readonly ILogger _logger;
    private readonly DescriptorBudget _budget;
    private readonly IHostEnvironment _environment;
    private CancellationTokenRegistration _registration;

    public StartupReporter(IHostApplicationLifetime lifetime, SocksEndPoints endPoints, IOptions<KestrelSocksOptions> options, DescriptorBudget budget,
        IHostEnvironment environment, ILogger<StartupReporter> logger)
    {
        _environment = environment;
        _budget = budget;
        _lifetime = lifetime;
        _endPoints = endPoints;
        _options = options.Value;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = _lifetime.ApplicationStarted.Register(Report);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration.Dispose();
        return Task.CompletedTask;
    }

    private void Report()
    {
        HostingLog.Started(_logger, BuildInfo.Current.Version, BuildInfo.Current.Commit, _environment.EnvironmentName, _environment.ContentRootPath);
        SocksLog.SocketCompletions(_logger,
            SocketEngineThread.InlineCompletions ? "inline on the socket engine threads" : "on the thread pool",
            SocketEngineThread.InlineCompletionsVariable, Environment.GetEnvironmentVariable(SocketEngineThread.InlineCompletionsVariable) ?? "unset");

        var proxyProtocol = _endPoints.ProxyProtocol;
        foreach (var endPoint in _endPoints.Socks)
        {
            var behindBalancer = proxyProtocol.Contains(endPoint);
            SocksLog.ListenerStarted(_logger, behindBalancer ? "SOCKS5 with a PROXY protocol header from a trusted balancer" : "SOCKS5", endPoint);
            if (_options.EffectiveAllowAnonymous && (behindBalancer || !IPAddress.IsLoopback(endPoint.Address)))
            {
                SocksLog.AnonymousOnPublicListener(_logger, endPoint);
            }
        }

        SocksLog.DescriptorBudgetSet(_logger, _budget.Capacity, _budget.ProcessLimit, _budget.Reserve, _budget.OpenAtStart);

        foreach (var endPoint in _endPoints.Admin)
        {
            SocksLog.ListenerStarted(_logger, "metrics and health (HTTP)", endPoint);
        }
    }
}
