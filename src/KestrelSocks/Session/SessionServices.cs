using KestrelSocks.Authentication;
using KestrelSocks.Commands;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using KestrelSocks.Limits;
using KestrelSocks.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Session;

/// <summary>What every session shares: settings read once, the metrics, the log, the authenticator and the commands.</summary>
internal sealed class SessionServices : IDisposable
{
    public SessionServices(
        IOptions<KestrelSocksOptions> options,
        SocksMetrics metrics,
        ILoggerFactory loggerFactory,
        Authenticator authenticator,
        ConnectCommand connect,
        BindCommand bind,
        UdpAssociateCommand udpAssociate,
        SessionAdmission admission,
        TimeProvider timeProvider,
        UserLimits userLimits,
        ShutdownSignal shutdown)
    {
        Admission = admission;
        RefusalLog = new LogRateLimiter(timeProvider, TimeSpan.FromSeconds(1));
        var value = options.Value;
        AllowAnonymous = value.EffectiveAllowAnonymous;
        AllowUsernamePassword = value.Authentication.UsernamePassword;
        HandshakeTimeout = value.Limits.HandshakeTimeout;
        IdleTimeout = value.Limits.IdleTimeout;
        RelayMode = value.Relay.Mode;
        if (RelayMode is RelayMode.Auto or RelayMode.Splice && LinuxSplice.IsSupported)
        {
            // Pipes are held only while bytes flow; the pool keeps enough for a busy server's bursts.
            SplicePipes = new SplicePipePool(maxPooled: 256, admission.Budget);
        }
        Metrics = metrics;
        Logger = loggerFactory.CreateLogger("KestrelSocks.Session");
        Authenticator = authenticator;
        Connect = connect;
        Bind = bind;
        UdpAssociate = udpAssociate;
        TimeProvider = timeProvider;
        UserLimits = userLimits;
        Shutdown = shutdown;
    }

    public bool AllowAnonymous { get; }

    public bool AllowUsernamePassword { get; }

    public TimeSpan HandshakeTimeout { get; }

    public TimeSpan IdleTimeout { get; }

    /// <summary>Who may start a session, and what sessions hold of the server's limits.</summary>
    public SessionAdmission Admission { get; }

    /// <summary>Paces the log lines of requests refused by a limit.</summary>
    public LogRateLimiter RefusalLog { get; }

    public RelayMode RelayMode { get; }

    /// <summary>Set when tunnels splice; null when they copy through buffers.</summary>
    public SplicePipePool? SplicePipes { get; }

    public SocksMetrics Metrics { get; }

    public ILogger Logger { get; }

    public Authenticator Authenticator { get; }

    public ConnectCommand Connect { get; }

    public BindCommand Bind { get; }

    public UdpAssociateCommand UdpAssociate { get; }

    public TimeProvider TimeProvider { get; }

    /// <summary>Per-user session and association counts and bandwidth.</summary>
    public UserLimits UserLimits { get; }

    /// <summary>Fires when the SOCKS listeners close at shutdown.</summary>
    public ShutdownSignal Shutdown { get; }

    /// <summary>The container disposes this after the host has stopped and every session has ended: the pooled pipes close.</summary>
    public void Dispose()
    {
        if (OperatingSystem.IsLinux())
        {
            SplicePipes?.Dispose();
        }
    }
}
