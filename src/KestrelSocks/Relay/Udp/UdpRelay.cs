using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using KestrelSocks.Access;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Hosting;
using KestrelSocks.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Relay.Udp;

/// <summary>
/// The UDP relay, apart from the TCP sessions that ask for associations: it owns the pooled event args, the DNS
/// cache and every open association, sweeps them for idleness and reassembly timeouts, and closes what is left at
/// shutdown. Nothing here knows about pipes or Kestrel, so another control channel (UDP over HTTP) can open
/// associations the same way.
/// </summary>
internal sealed class UdpRelay : IHostedService, IDisposable
{
    private static readonly TimeSpan _sweepInterval = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<long, UdpAssociation> _associations = new();
    private readonly ILogger _logger;
    private ITimer? _sweeper;
    private long _lastId;
    private int _open;

    public UdpRelay(IOptions<KestrelSocksOptions> options, SocksMetrics metrics, AccessPolicy policy, DescriptorBudget budget,
        TimeProvider timeProvider, ILogger<UdpRelay> logger)
    {
        Budget = budget;
        Options = options.Value.Udp;
        Metrics = metrics;
        Policy = policy;
        TimeProvider = timeProvider;
        _logger = logger;
        ListenAddress = string.IsNullOrEmpty(Options.ListenAddress) ? null : IPAddress.Parse(Options.ListenAddress);
        AdvertisedAddress = string.IsNullOrEmpty(Options.AdvertisedAddress) ? null : IPAddress.Parse(Options.AdvertisedAddress);
        IdleTimeoutTicks = (long)(Options.IdleTimeout.TotalSeconds * timeProvider.TimestampFrequency);
        ReassemblyTimeoutTicks = (long)(Options.ReassemblyTimeout.TotalSeconds * timeProvider.TimestampFrequency);
        EventArgsPool = new UdpEventArgsPool(maxPooled: 4096);
        Dns = new UdpDnsCache(timeProvider, Options.DnsCacheTtl);
        Engine = CreateEngine(Options, ListenAddress, metrics, EventArgsPool, logger, out var shared);
        SharedPort = shared;
    }

    public UdpOptions Options { get; }

    /// <summary>Every association's sockets are taken from it, and given back when it closes.</summary>
    public DescriptorBudget Budget { get; }

    public bool Enabled => Options.Enabled;

    public SocksMetrics Metrics { get; }

    public AccessPolicy Policy { get; }

    public TimeProvider TimeProvider { get; }

    public IPAddress? ListenAddress { get; }

    public IPAddress? AdvertisedAddress { get; }

    public long IdleTimeoutTicks { get; }

    public long ReassemblyTimeoutTicks { get; }

    public UdpEventArgsPool EventArgsPool { get; }

    public UdpDnsCache Dns { get; }

    public int ActiveAssociations => _associations.Count;

    /// <summary>Associations open at once on the whole server.</summary>
    public int MaxAssociations => Options.MaxAssociations > 0 ? Options.MaxAssociations : int.MaxValue;

    /// <summary>How associations' sockets are drained, chosen once.</summary>
    public IUdpEngine Engine { get; }

    /// <summary>The one port every association's client sends to, in <c>Udp:Mode=Shared</c>; null otherwise.</summary>
    public SharedUdpPort? SharedPort { get; }

    /// <summary>
    /// Opens an association and starts relaying; null, with the reason, when the server's association limit or the
    /// descriptor budget has no room for it. Throws <see cref="System.Net.Sockets.SocketException"/> when its sockets
    /// cannot be bound.
    /// </summary>
    public UdpAssociation? TryOpen(UdpAssociationSettings settings, out UdpOpenRefusal refusal)
    {
        if (Interlocked.Increment(ref _open) > MaxAssociations)
        {
            Interlocked.Decrement(ref _open);
            refusal = UdpOpenRefusal.AssociationLimit;
            return null;
        }

        // Two sockets at most; a one-socket association gives one back as soon as it exists.
        if (!Budget.TryTake(2))
        {
            Interlocked.Decrement(ref _open);
            refusal = UdpOpenRefusal.DescriptorBudget;
            return null;
        }

        UdpAssociation association;
        try
        {
            association = new UdpAssociation(this, settings, Interlocked.Increment(ref _lastId));
        }
        catch
        {
            Budget.Return(2);
            Interlocked.Decrement(ref _open);
            throw;
        }

        if (SharedPort is { } shared && !shared.TryAdd(association))
        {
            association.Discard();
            Budget.Return(2);
            Interlocked.Decrement(ref _open);
            refusal = UdpOpenRefusal.ClientEndPointInUse;
            return null;
        }

        if (association.Descriptors == 1)
        {
            Budget.Return(1);
        }

        refusal = UdpOpenRefusal.None;
        _associations[association.Id] = association;
        Metrics.UdpAssociationStarted();
        try
        {
            association.Start();
        }
        catch
        {
            association.Close(UdpAssociationEnd.SocketError);
            throw;
        }

        return association;
    }

    /// <summary>The address to announce in BND.ADDR for an association.</summary>
    public IPAddress GetAnnouncedAddress(UdpAssociation association, IPAddress controlLocalAddress)
    {
        if (AdvertisedAddress is not null)
        {
            return AdvertisedAddress;
        }

        var bound = association.RelayEndPoint.Address;
        return bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any) ? controlLocalAddress : bound;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _sweeper = TimeProvider.CreateTimer(static state => ((UdpRelay)state!).Sweep(), this, _sweepInterval, _sweepInterval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Kestrel stops first and drains the control connections, which close their associations; this ends the rest.
        _sweeper?.Dispose();
        foreach (var association in _associations.Values)
        {
            association.Close(UdpAssociationEnd.Shutdown);
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _sweeper?.Dispose();
        Engine.Dispose();
        SharedPort?.Dispose();
        EventArgsPool.Dispose();
    }

    internal void OnClosed(UdpAssociation association, UdpAssociationEnd reason)
    {
        _associations.TryRemove(association.Id, out _);
        Budget.Return(association.Descriptors);
        Interlocked.Decrement(ref _open);
        var age = association.Age;
        Metrics.UdpAssociationEnded(reason, age);
        SocksLog.UdpAssociationEnded(_logger, association.Id, association.Settings.ConnectionId, LogText.Escape(association.Settings.User),
            association.RelayEndPoint, MetricNames.GetAssociationEndName(reason), association.DatagramsUp, association.BytesUp,
            association.DatagramsDown, association.BytesDown, (long)age.TotalMilliseconds);
    }

    internal void OnInternalError(UdpAssociation association, Exception exception)
    {
        Metrics.UdpDropped(UdpDropReason.InternalError);
        SocksLog.UdpDatagramFailed(_logger, association.Id, exception);
    }

    private static IUdpEngine CreateEngine(UdpOptions options, IPAddress? listenAddress, SocksMetrics metrics, UdpEventArgsPool pool, ILogger logger,
        out SharedUdpPort? shared)
    {
        shared = null;
        if (OperatingSystem.IsLinux() && options.Engine != UdpEngineMode.Portable)
        {
            var loops = options.EventLoopThreads > 0 ? options.EventLoopThreads : Environment.ProcessorCount;
            if (options.Mode == UdpMode.Shared)
            {
                shared = BindSharedPort(options, listenAddress, loops, logger);
            }

            return new UdpEventLoopEngine(loops, options.MaxQueueDelay, metrics, logger, shared);
        }

        // The validator refuses Shared mode without the relay loops.
        return new UdpPortableEngine(pool, metrics);
    }

    [SupportedOSPlatform("linux")]
    private static SharedUdpPort BindSharedPort(UdpOptions options, IPAddress? listenAddress, int loops, ILogger logger)
    {
        SharedUdpPort shared;
        try
        {
            shared = SharedUdpPort.Bind(options, listenAddress, loops, out var steeringFailure);
            if (steeringFailure is not null)
            {
                SocksLog.UdpSharedPortUnsteered(logger, shared.Port, loops, steeringFailure.SocketErrorCode);
            }
        }
        catch (SocketException e)
        {
            var endPoint = new IPEndPoint(listenAddress ?? (Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any), options.SharedPort);
            throw new StartupException($"cannot listen for SOCKS5 UDP on {endPoint} (KestrelSocks:Udp:SharedPort): {e.Message}.",
                ExitCodes.ListenFailed);
        }

        SocksLog.UdpSharedPortBound(logger, shared.Port, shared.SocketCount);
        if (shared.ReceiveBufferSize < options.SharedSocketReceiveBufferSize)
        {
            SocksLog.UdpSharedPortSmallBuffer(logger, shared.Port, shared.ReceiveBufferSize, options.SharedSocketReceiveBufferSize);
        }

        return shared;
    }

    private void Sweep()
    {
        var now = TimeProvider.GetTimestamp();
        foreach (var association in _associations.Values)
        {
            try
            {
                association.Sweep(now);
            }
            catch (Exception e)
            {
                // A timer callback that throws ends the process; one association's failure must not.
                SocksLog.UdpDatagramFailed(_logger, association.Id, e);
            }
        }
    }
}
