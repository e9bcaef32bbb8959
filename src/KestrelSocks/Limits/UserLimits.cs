using KestrelSocks.Protocol;
using KestrelSocks.Configuration;
using KestrelSocks.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Limits;

/// <summary>
/// The per-user limits (<c>Limits:PerUser</c>): sessions and UDP associations counted per authenticated user, and
/// each user's byte buckets. A user has an entry only while they have a session open, and it goes when the last one
/// ends, so the table holds at most one entry per open session, whatever the number of accounts. Counting takes a
/// lock, once per session or association, never per byte; the buckets are lock-free.
/// </summary>
internal sealed class UserLimits
{
    // A user at a limit who keeps asking gets one Warning line a minute, carrying the count refused meanwhile.
    private static readonly TimeSpan _logInterval = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, UserAllowance> _users = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly int _maxSessions;
    private readonly int _maxUdpAssociations;
    private readonly long _bandwidth;
    private readonly long _burst;
    private readonly SocksMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public UserLimits(IOptions<KestrelSocksOptions> options, SocksMetrics metrics, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        var perUser = options.Value.Limits.PerUser;
        Enabled = perUser.Enabled;
        _maxSessions = perUser.MaxSessions;
        _maxUdpAssociations = perUser.MaxUdpAssociations;
        _bandwidth = perUser.Bandwidth;
        _burst = perUser.EffectiveBurst;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("KestrelSocks.Limits");
    }

    /// <summary>Some per-user limit is set; when not, sessions are not counted at all.</summary>
    public bool Enabled { get; }

    /// <summary>Users with an entry now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _users.Count;
            }
        }
    }

    /// <summary>
    /// Counts a session of <paramref name="user"/>: its allowance, or null (counted as refused) when the user already
    /// has <c>MaxSessions</c> open. The caller gives it back with <see cref="UserAllowance.CloseSession"/>.
    /// </summary>
    public UserAllowance? TryOpenSession(string user, byte command)
    {
        UserAllowance? allowance;
        long refused;
        lock (_lock)
        {
            if (!_users.TryGetValue(user, out allowance))
            {
                allowance = new UserAllowance(this, user, CreateBucket(), CreateBucket());
                _users.Add(user, allowance);
            }

            if (_maxSessions == 0 || allowance.Sessions < _maxSessions)
            {
                allowance.Sessions++;
                return allowance;
            }

            refused = NoteRefusal(ref allowance.SessionRefusals);
        }

        _metrics.RequestRefused(command, RequestRefusalReason.UserSessions);
        if (refused > 0)
        {
            SocksLog.UserSessionLimitReached(_logger, LogText.Escape(user), _maxSessions, refused);
        }

        return null;
    }

    internal bool TryOpenUdpAssociation(UserAllowance allowance)
    {
        long refused;
        lock (_lock)
        {
            if (_maxUdpAssociations == 0 || allowance.UdpAssociations < _maxUdpAssociations)
            {
                allowance.UdpAssociations++;
                return true;
            }

            refused = NoteRefusal(ref allowance.UdpAssociationRefusals);
        }

        _metrics.RequestRefused((byte)Socks5Command.UdpAssociate, RequestRefusalReason.UserUdpAssociations);
        if (refused > 0)
        {
            SocksLog.UserUdpAssociationLimitReached(_logger, LogText.Escape(allowance.User), _maxUdpAssociations, refused);
        }

        return false;
    }

    internal void CloseSession(UserAllowance allowance)
    {
        lock (_lock)
        {
            allowance.Sessions--;
            RemoveIfUnused(allowance);
        }
    }

    internal void CloseUdpAssociation(UserAllowance allowance)
    {
        lock (_lock)
        {
            allowance.UdpAssociations--;
            RemoveIfUnused(allowance);
        }
    }

    private void RemoveIfUnused(UserAllowance allowance)
    {
        if (allowance.Sessions <= 0 && allowance.UdpAssociations <= 0)
        {
            _users.Remove(allowance.User);
        }
    }

    /// <summary>Counts a refusal; returns how many to report if a log line is due now, else 0.</summary>
    private long NoteRefusal(ref RefusalLog log)
    {
        log.Unreported++;
        var now = _timeProvider.GetTimestamp();
        if (log.LastReported is { } last && _timeProvider.GetElapsedTime(last, now) < _logInterval)
        {
            return 0;
        }

        log.LastReported = now;
        var count = log.Unreported;
        log.Unreported = 0;
        return count;
    }

    private TokenBucket? CreateBucket() => _bandwidth > 0 ? new TokenBucket(_bandwidth, _burst, _timeProvider) : null;

    /// <summary>Refusals of one kind for one user since their last Warning line.</summary>
    internal struct RefusalLog
    {
        public long Unreported;
        public long? LastReported;
    }
}
