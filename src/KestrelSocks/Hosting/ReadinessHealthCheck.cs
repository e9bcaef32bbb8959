using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace KestrelSocks.Hosting;

/// <summary>Ready once the listeners are bound, and no longer ready as soon as shutdown begins.</summary>
internal sealed class ReadinessHealthCheck : IHealthCheck
{
    private readonly IHostApplicationLifetime _lifetime;

    public ReadinessHealthCheck(IHostApplicationLifetime lifetime)
    {
        _lifetime = lifetime;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = !_lifetime.ApplicationStarted.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("Starting.")
            : _lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("Draining.")
                : HealthCheckResult.Healthy();
        return Task.FromResult(result);
    }
}
