using KestrelSocks.Diagnostics;
using KestrelSocks.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace KestrelSocks.Tests.Diagnostics;

public sealed class SocksMetricsTests : IDisposable
{
    private readonly TestMeterFactory _meterFactory = new();

    [Fact]
    public void InitializeSeries_WritesZeroForEveryValueOfAClosedTag_AndForTheGauges()
    {
        using var drops = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.udp.drops");
        using var refused = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.requests.refused");
        using var sessions = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.sessions.active");
        var metrics = new SocksMetrics(_meterFactory);

        metrics.InitializeSeries();

        Assert.Equal(
            Enum.GetValues<UdpDropReason>().Select(MetricNames.GetDropReasonName).Order(),
            drops.GetMeasurementSnapshot().Select(m => (string)m.Tags[MetricNames.DropReasonTag]!).Order());
        Assert.All(drops.GetMeasurementSnapshot(), m => Assert.Equal(0, m.Value));
        Assert.Equal(Enum.GetValues<RequestRefusalReason>().Length * 3, refused.GetMeasurementSnapshot().Count);
        Assert.All(refused.GetMeasurementSnapshot(), m => Assert.Equal(0, m.Value));
        Assert.Equal(0, Assert.Single(sessions.GetMeasurementSnapshot()).Value);
    }

    [Fact]
    public void Constructor_WritesNothing_SoTestsOfOneInstrumentSeeOnlyTheirOwnMeasurements()
    {
        using var drops = new MetricCollector<long>(_meterFactory, MetricNames.MeterName, "kestrelsocks.udp.drops");

        _ = new SocksMetrics(_meterFactory);

        Assert.Empty(drops.GetMeasurementSnapshot());
    }

    public void Dispose() => _meterFactory.Dispose();
}
