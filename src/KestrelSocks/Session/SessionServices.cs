using KestrelSocks.Authentication;
using KestrelSocks.Commands;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Session;

/// <summary>What every session shares: settings read once, the metrics, the log, the user store and the commands.</summary>
internal sealed class SessionServices
{
    public SessionServices(
        IOptions<KestrelSocksOptions> options,
        SocksMetrics metrics,
        ILoggerFactory loggerFactory,
        UserStore users,
        ConnectCommand connect,
        BindCommand bind,
        UdpAssociateCommand udpAssociate,
        TimeProvider timeProvider)
    {
        var value = options.Value;
        AllowAnonymous = value.Authentication.AllowAnonymous;
        AllowUsernamePassword = value.Authentication.UsernamePassword;
        HandshakeTimeout = value.Limits.HandshakeTimeout;
        IdleTimeout = value.Limits.IdleTimeout;
        MaxConcurrentSessions = value.Limits.MaxConcurrentSessions;
        Metrics = metrics;
        Logger = loggerFactory.CreateLogger("KestrelSocks.Session");
        Users = users;
        Connect = connect;
        Bind = bind;
        UdpAssociate = udpAssociate;
        TimeProvider = timeProvider;
    }

    public bool AllowAnonymous { get; }

    public bool AllowUsernamePassword { get; }

    public TimeSpan HandshakeTimeout { get; }

    public TimeSpan IdleTimeout { get; }

    public int MaxConcurrentSessions { get; }

    public SocksMetrics Metrics { get; }

    public ILogger Logger { get; }

    public UserStore Users { get; }

    public ConnectCommand Connect { get; }

    public BindCommand Bind { get; }

    public UdpAssociateCommand UdpAssociate { get; }

    public TimeProvider TimeProvider { get; }
}
