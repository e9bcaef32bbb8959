using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace KestrelSocks.Hosting;

/// <summary>Ready once the listeners are bound, and no longer ready from the first moment of shutdown.</summary>
internal sealed class ReadinessHealthCheck : IHealthCheck
{
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ShutdownDrain _drain;

    public ReadinessHealthCheck(IHostApplicationLifetime lifetime, ShutdownDrain drain)
    {
        _lifetime = lifetime;
        _drain = drain;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = !_lifetime.ApplicationStarted.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("Starting.")
            : _drain.IsDraining || _lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("Draining.")
                : HealthCheckResult.Healthy();
        return Task.FromResult(result);
    }
}
