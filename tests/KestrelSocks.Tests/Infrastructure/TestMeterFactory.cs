using System.Diagnostics.Metrics;

namespace KestrelSocks.Tests.Infrastructure;

/// <summary>
/// An <see cref="IMeterFactory"/> whose meters are scoped to it, so a <c>MetricCollector</c> built on it sees one
/// test's measurements and no other's.
/// </summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }

            _meters.Clear();
        }
    }
}
