using System.Diagnostics.Metrics;
using KestrelSocks.Access;
using KestrelSocks.Protocol;
using KestrelSocks.Relay;

namespace KestrelSocks.Diagnostics;

/// <summary>
/// Every instrument of the <c>KestrelSocks</c> meter. Tags are low-cardinality enums only: never a destination
/// host, port or user.
/// </summary>
internal sealed class SocksMetrics
{
    private static readonly double[] _durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly byte[] _commands = [(byte)Socks5Command.Connect, (byte)Socks5Command.Bind, (byte)Socks5Command.UdpAssociate];
    private static readonly double[] _sessionBuckets = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

    private readonly UpDownCounter<long> _activeSessions;
    private readonly Counter<long> _sessions;
    private readonly Counter<long> _handshakeFailures;
    private readonly Counter<long> _rejectedConnections;
    private readonly Counter<long> _bytes;
    private readonly Histogram<double> _connectDuration;
    private readonly Histogram<double> _sessionDuration;
    private readonly Counter<long> _bindResults;
    private readonly Counter<long> _bindPeersRefused;
    private readonly Histogram<double> _bindAcceptWait;
    private readonly UpDownCounter<long> _udpActive;
    private readonly Lock _udpTrafficLock = new();
    private UdpTraffic[] _udpTraffic = [];
    private readonly Counter<long> _udpDrops;
    private readonly Histogram<double> _udpDuration;
    private readonly Counter<long> _requestRefusals;
    private readonly Counter<long> _descriptorRefusals;
    private readonly Meter _meter;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _authBlocks;
    private readonly Counter<long> _accessDenied;
    private readonly Counter<long> _tunnelEnds;
    private readonly Counter<long> _proxyHeaders;
    private readonly Counter<long> _proxyRejections;
    private readonly UpDownCounter<long> _draining;

    public SocksMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MetricNames.MeterName);

        _activeSessions = meter.CreateUpDownCounter<long>(
            "kestrelsocks.sessions.active", unit: "{session}", description: "SOCKS sessions open now, from accept to close.");
        _sessions = meter.CreateCounter<long>(
            "kestrelsocks.sessions", unit: "{session}", description: "Requests answered, by command and reply code.");
        _handshakeFailures = meter.CreateCounter<long>(
            "kestrelsocks.handshake.failures", unit: "{failure}", description: "Connections closed before their request was answered, by reason.");
        _rejectedConnections = meter.CreateCounter<long>(
            "kestrelsocks.connections.rejected", unit: "{connection}", description: "Connections closed at accept, by reason.");
        _bytes = meter.CreateCounter<long>(
            "kestrelsocks.relay.bytes", unit: "By", description: "Bytes relayed through tunnels, by direction (upstream: client to destination).");
        _connectDuration = meter.CreateHistogram(
            "kestrelsocks.connect.duration", unit: "s", description: "Time to resolve and connect to a CONNECT destination, by reply code.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = _durationBuckets });
        _sessionDuration = meter.CreateHistogram(
            "kestrelsocks.session.duration", unit: "s", description: "Time from accept to close, by command and reply code.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = _sessionBuckets });
        _bindResults = meter.CreateCounter<long>(
            "kestrelsocks.bind.sessions", unit: "{session}", description: "BIND requests that listened, by how their wait for the inbound connection ended.");
        _bindPeersRefused = meter.CreateCounter<long>(
            "kestrelsocks.bind.refused_peers", unit: "{connection}", description: "Inbound connections to a BIND listener from an address other than the requested one, closed.");
        _udpActive = meter.CreateUpDownCounter<long>(
            "kestrelsocks.udp.associations.active", unit: "{association}", description: "UDP associations open now.");
        meter.CreateObservableCounter(
            "kestrelsocks.udp.datagrams", () => ObserveUdpTraffic(bytes: false), unit: "{datagram}", description: "Datagrams relayed, by direction (upstream: client to destination).");
        meter.CreateObservableCounter(
            "kestrelsocks.udp.bytes", () => ObserveUdpTraffic(bytes: true), unit: "By", description: "Payload bytes relayed in datagrams, by direction, without SOCKS headers.");
        _udpDrops = meter.CreateCounter<long>(
            "kestrelsocks.udp.drops", unit: "{datagram}", description: "Datagrams dropped by the relay, by reason.");
        _udpDuration = meter.CreateHistogram(
            "kestrelsocks.udp.association.duration", unit: "s", description: "Lifetime of UDP associations, by how they ended.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = _sessionBuckets });
        _requestRefusals = meter.CreateCounter<long>(
            "kestrelsocks.requests.refused", unit: "{request}", description: "Requests refused by a limit (not by the destination), by command and reason.");
        _descriptorRefusals = meter.CreateCounter<long>(
            "kestrelsocks.descriptors.refused", unit: "{refusal}", description: "Descriptors the budget refused, by what they were for.");
        _bindAcceptWait = meter.CreateHistogram(
            "kestrelsocks.bind.accept_wait", unit: "s", description: "Time a BIND listener waited for its inbound connection, by result.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = _sessionBuckets });
        _authFailures = meter.CreateCounter<long>(
            "kestrelsocks.auth.failures", unit: "{attempt}", description: "Failed username/password authentications, by reason (a wrong password and an unknown name are one reason).");
        _authBlocks = meter.CreateCounter<long>(
            "kestrelsocks.auth.blocks", unit: "{block}", description: "Client addresses blocked after repeated failed authentications.");
        _accessDenied = meter.CreateCounter<long>(
            "kestrelsocks.access.denied", unit: "{denial}", description: "Requests and datagrams refused by the rule set, by rule (egress-guard, self and default are reserved names), command and phase.");

        _tunnelEnds = meter.CreateCounter<long>(
            "kestrelsocks.tunnel.ends", unit: "{tunnel}", description: "TCP tunnels (CONNECT and BIND) that ended, by how: completed (both sides closed in order), idle_timeout, client_failed, upstream_failed.");
        _proxyHeaders = meter.CreateCounter<long>(
            "kestrelsocks.proxy_protocol.headers", unit: "{header}", description: "PROXY protocol headers accepted, by version and command (local: the connection's own address stands).");
        _proxyRejections = meter.CreateCounter<long>(
            "kestrelsocks.proxy_protocol.rejected", unit: "{connection}", description: "Connections to a PROXY protocol listener closed before SOCKS, by reason.");
        _draining = meter.CreateUpDownCounter<long>(
            "kestrelsocks.draining", unit: "{state}", description: "1 from the start of shutdown: readiness has turned false and the SOCKS listeners close or have closed.");

        var build = BuildInfo.Current;
        meter.CreateObservableGauge(
            "kestrelsocks.build_info",
            () => new Measurement<long>(
                1,
                new KeyValuePair<string, object?>("version", build.Version),
                new KeyValuePair<string, object?>("commit", build.Commit)),
            description: "Always 1; its version and commit labels name the running build.");
    }

    /// <summary>
    /// Writes 0 to every gauge and to every counter whose tags are a closed set, so a fresh server exports them from its
    /// first scrape: dashboards and alerts then see 0 rather than no data. Rule names are configuration, so
    /// <c>kestrelsocks.access.denied</c> starts with its first denial. The exporter's listener must already be
    /// subscribed to the meter (a measurement no one listens to is dropped), so the host calls this, not the constructor.
    /// </summary>
    public void InitializeSeries()
    {
        _activeSessions.Add(0);
        _udpActive.Add(0);
        _bindPeersRefused.Add(0);
        _authBlocks.Add(0);
        _draining.Add(0);
        foreach (var end in Enum.GetValues<TunnelEnd>())
        {
            _tunnelEnds.Add(0, new KeyValuePair<string, object?>(MetricNames.TunnelEndTag, MetricNames.GetTunnelEndName(end)));
        }

        foreach (var reason in Enum.GetValues<ProxyHeaderRejectReason>())
        {
            _proxyRejections.Add(0, new KeyValuePair<string, object?>(MetricNames.ProxyRejectReasonTag, MetricNames.GetProxyRejectReasonName(reason)));
        }

        foreach (var version in (string[])["1", "2"])
        {
            foreach (var command in (string[])["proxy", "local"])
            {
                _proxyHeaders.Add(0, new(MetricNames.ProxyVersionTag, version), new(MetricNames.ProxyCommandTag, command));
            }
        }
        foreach (var error in Enum.GetValues<HandshakeError>())
        {
            _handshakeFailures.Add(0, new KeyValuePair<string, object?>(MetricNames.ErrorTypeTag, MetricNames.GetErrorName(error)));
        }

        foreach (var reason in Enum.GetValues<ConnectionRejectReason>())
        {
            _rejectedConnections.Add(0, new KeyValuePair<string, object?>(MetricNames.ReasonTag, MetricNames.GetRejectReasonName(reason)));
        }

        foreach (var reason in Enum.GetValues<UdpDropReason>())
        {
            _udpDrops.Add(0, new KeyValuePair<string, object?>(MetricNames.DropReasonTag, MetricNames.GetDropReasonName(reason)));
        }

        foreach (var result in Enum.GetValues<BindResult>())
        {
            _bindResults.Add(0, new KeyValuePair<string, object?>(MetricNames.BindResultTag, MetricNames.GetBindResultName(result)));
        }

        foreach (var reason in Enum.GetValues<AuthFailureReason>())
        {
            _authFailures.Add(0, new KeyValuePair<string, object?>(MetricNames.AuthFailureTag, MetricNames.GetAuthFailureName(reason)));
        }

        foreach (var use in Enum.GetValues<DescriptorUse>())
        {
            _descriptorRefusals.Add(0, new KeyValuePair<string, object?>(MetricNames.ResourceTag, MetricNames.GetResourceName(use)));
        }

        foreach (var reason in Enum.GetValues<RequestRefusalReason>())
        {
            foreach (var command in _commands)
            {
                _requestRefusals.Add(
                    0,
                    new KeyValuePair<string, object?>(MetricNames.CommandTag, MetricNames.GetCommandName(command)),
                    new KeyValuePair<string, object?>(MetricNames.RefusalReasonTag, MetricNames.GetRefusalReasonName(reason)));
            }
        }
    }

    /// <summary>On the datagram path for refused datagrams: three string tags, no allocation.</summary>
    public void AccessDenied(string rule, AccessCommand command, AccessPhase phase)
    {
        if (_accessDenied.Enabled)
        {
            _accessDenied.Add(
                1,
                new KeyValuePair<string, object?>(MetricNames.AccessRuleTag, rule),
                new KeyValuePair<string, object?>(MetricNames.CommandTag, MetricNames.GetAccessCommandName(command)),
                new KeyValuePair<string, object?>(MetricNames.AccessPhaseTag, MetricNames.GetAccessPhaseName(phase)));
        }
    }

    public void AuthenticationFailed(AuthFailureReason reason)
    {
        if (_authFailures.Enabled)
        {
            _authFailures.Add(1, new KeyValuePair<string, object?>(MetricNames.AuthFailureTag, MetricNames.GetAuthFailureName(reason)));
        }
    }

    public void ClientBlocked() => _authBlocks.Add(1);

    public void UdpAssociationStarted() => _udpActive.Add(1);

    /// <summary>Reports the descriptor budget: its capacity and what is held now.</summary>
    public void ObserveDescriptorBudget(Func<int> capacity, Func<int> inUse)
    {
        _meter.CreateObservableGauge(
            "kestrelsocks.descriptors.budget", capacity, unit: "{descriptor}", description: "Descriptors sessions, sockets and pipes may hold at once.");
        _meter.CreateObservableUpDownCounter(
            "kestrelsocks.descriptors.in_use", inUse, unit: "{descriptor}", description: "Descriptors of the budget held now.");
    }

    public void RequestRefused(byte command, RequestRefusalReason reason)
    {
        _requestRefusals.Add(
            1,
            new KeyValuePair<string, object?>(MetricNames.CommandTag, MetricNames.GetCommandName(command)),
            new KeyValuePair<string, object?>(MetricNames.RefusalReasonTag, MetricNames.GetRefusalReasonName(reason)));
    }

    public void DescriptorsRefused(DescriptorUse use)
    {
        _descriptorRefusals.Add(1, new KeyValuePair<string, object?>(MetricNames.ResourceTag, MetricNames.GetResourceName(use)));
    }

    public void UdpAssociationEnded(UdpAssociationEnd end, TimeSpan duration)
    {
        _udpActive.Add(-1);
        if (_udpDuration.Enabled)
        {
            _udpDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(MetricNames.EndReasonTag, MetricNames.GetAssociationEndName(end)));
        }
    }

    /// <summary>
    /// Totals for one writer of relayed datagrams, counted into <c>kestrelsocks.udp.datagrams</c> and
    /// <c>kestrelsocks.udp.bytes</c> from then on; they are kept for the life of the meter.
    /// </summary>
    public UdpTraffic CreateUdpTraffic()
    {
        var traffic = new UdpTraffic();
        lock (_udpTrafficLock)
        {
            _udpTraffic = [.. _udpTraffic, traffic];
        }

        return traffic;
    }

    private Measurement<long>[] ObserveUdpTraffic(bool bytes)
    {
        long up = 0;
        long down = 0;
        foreach (var traffic in Volatile.Read(ref _udpTraffic))
        {
            up += bytes ? traffic.UpstreamBytes : traffic.UpstreamDatagrams;
            down += bytes ? traffic.DownstreamBytes : traffic.DownstreamDatagrams;
        }

        return
        [
            new(up, new KeyValuePair<string, object?>(MetricNames.DirectionTag, MetricNames.Upstream)),
            new(down, new KeyValuePair<string, object?>(MetricNames.DirectionTag, MetricNames.Downstream)),
        ];
    }

    public void UdpDropped(UdpDropReason reason, long count = 1)
    {
        if (_udpDrops.Enabled && count > 0)
        {
            _udpDrops.Add(count, new KeyValuePair<string, object?>(MetricNames.DropReasonTag, MetricNames.GetDropReasonName(reason)));
        }
    }

    public void BindCompleted(BindResult result, TimeSpan wait)
    {
        var tag = new KeyValuePair<string, object?>(MetricNames.BindResultTag, MetricNames.GetBindResultName(result));
        _bindResults.Add(1, tag);
        if (_bindAcceptWait.Enabled)
        {
            _bindAcceptWait.Record(wait.TotalSeconds, tag);
        }
    }

    public void BindPeerRefused() => _bindPeersRefused.Add(1);

    public void SessionStarted() => _activeSessions.Add(1);

    public void SessionEnded(byte? command, ReplyCode? reply, TimeSpan duration)
    {
        _activeSessions.Add(-1);
        if (_sessionDuration.Enabled)
        {
            _sessionDuration.Record(
                duration.TotalSeconds,
                new KeyValuePair<string, object?>(MetricNames.CommandTag, command is { } c ? MetricNames.GetCommandName(c) : "none"),
                new KeyValuePair<string, object?>(MetricNames.ReplyTag, reply is { } r ? MetricNames.GetReplyName(r) : "none"));
        }
    }

    public void RequestAnswered(byte command, ReplyCode reply)
    {
        if (_sessions.Enabled)
        {
            _sessions.Add(
                1,
                new KeyValuePair<string, object?>(MetricNames.CommandTag, MetricNames.GetCommandName(command)),
                new KeyValuePair<string, object?>(MetricNames.ReplyTag, MetricNames.GetReplyName(reply)));
        }
    }

    public void HandshakeFailed(HandshakeError error)
    {
        if (_handshakeFailures.Enabled)
        {
            _handshakeFailures.Add(1, new KeyValuePair<string, object?>(MetricNames.ErrorTypeTag, MetricNames.GetErrorName(error)));
        }
    }

    public void TunnelEnded(TunnelEnd end)
    {
        if (_tunnelEnds.Enabled)
        {
            _tunnelEnds.Add(1, new KeyValuePair<string, object?>(MetricNames.TunnelEndTag, MetricNames.GetTunnelEndName(end)));
        }
    }

    public void ProxyHeaderAccepted(byte version, bool proxied)
    {
        if (_proxyHeaders.Enabled)
        {
            _proxyHeaders.Add(1, new(MetricNames.ProxyVersionTag, version == 1 ? "1" : "2"), new(MetricNames.ProxyCommandTag, proxied ? "proxy" : "local"));
        }
    }

    public void ProxyHeaderRejected(ProxyHeaderRejectReason reason)
    {
        if (_proxyRejections.Enabled)
        {
            _proxyRejections.Add(1, new KeyValuePair<string, object?>(MetricNames.ProxyRejectReasonTag, MetricNames.GetProxyRejectReasonName(reason)));
        }
    }

    /// <summary>Shutdown has begun; a process drains once.</summary>
    public void DrainStarted() => _draining.Add(1);

    public void ConnectionRejected(ConnectionRejectReason reason)
    {
        if (_rejectedConnections.Enabled)
        {
            _rejectedConnections.Add(1, new KeyValuePair<string, object?>(MetricNames.ReasonTag, MetricNames.GetRejectReasonName(reason)));
        }
    }

    public void BytesRelayed(bool upstream, long count)
    {
        if (_bytes.Enabled && count > 0)
        {
            _bytes.Add(count, new KeyValuePair<string, object?>(MetricNames.DirectionTag, upstream ? MetricNames.Upstream : MetricNames.Downstream));
        }
    }

    public void ConnectCompleted(ReplyCode reply, TimeSpan duration)
    {
        if (_connectDuration.Enabled)
        {
            _connectDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(MetricNames.ReplyTag, MetricNames.GetReplyName(reply)));
        }
    }
}
