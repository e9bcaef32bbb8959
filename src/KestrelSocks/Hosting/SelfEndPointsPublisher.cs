using KestrelSocks.Access;
using Microsoft.Extensions.Hosting;

namespace KestrelSocks.Hosting;

/// <summary>
/// Hands the listeners' bound endpoints to the rule set once the host has started, when port 0 has become a real
/// port: from then on a client cannot reach the admin endpoint or a SOCKS listener through the proxy.
/// </summary>
internal sealed class SelfEndPointsPublisher : IHostedService
{
    private readonly IHostApplicationLifetime _lifetime;
    private readonly SocksEndPoints _endPoints;
    private readonly AccessPolicy _policy;
    private CancellationTokenRegistration _registration;

    public SelfEndPointsPublisher(IHostApplicationLifetime lifetime, SocksEndPoints endPoints, AccessPolicy policy)
    {
        _lifetime = lifetime;
        _endPoints = endPoints;
        _policy = policy;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = _lifetime.ApplicationStarted.Register(() => _policy.SetSelfEndPoints([.. _endPoints.Socks, .. _endPoints.Admin]));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _registration.Dispose();
        return Task.CompletedTask;
    }
}
