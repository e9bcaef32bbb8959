using System.Net;
using System.Text;
using KestrelSocks.Authentication;
using KestrelSocks.Access;
using KestrelSocks.Sockets;
using Microsoft.Extensions.Options;

namespace KestrelSocks.Configuration;

/// <summary>
/// Checks every setting at start and reports all problems at once, each naming its configuration key and how to fix it.
/// Secrets are never echoed: a bad password is described, not printed.
/// </summary>
internal sealed class KestrelSocksOptionsValidator : IValidateOptions<KestrelSocksOptions>
{
    private const string Root = KestrelSocksOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, KestrelSocksOptions options)
    {
        var errors = new List<string>();

        ValidateEndPoints(errors, $"{Root}:Listen", options.Listen);
        if (options.Admin.Enabled)
        {
            ValidateEndPoints(errors, $"{Root}:Admin:Listen", options.Admin.Listen);
        }

        ValidateProxyProtocol(errors, options);
        ValidateAuthentication(errors, options);

        var limits = options.Limits;
        RequirePositive(errors, $"{Root}:Limits:HandshakeTimeout", limits.HandshakeTimeout);
        RequirePositive(errors, $"{Root}:Limits:ConnectTimeout", limits.ConnectTimeout);
        RequirePositive(errors, $"{Root}:Limits:IdleTimeout", limits.IdleTimeout);
        RequirePositive(errors, $"{Root}:Limits:DrainTimeout", limits.DrainTimeout);
        if (limits.DrainDelay < TimeSpan.Zero)
        {
            errors.Add($"{Root}:Limits:DrainDelay must be zero or a positive duration such as 00:00:05 (got {limits.DrainDelay}).");
        }
        if (limits.MaxConcurrentSessions < 1)
        {
            errors.Add($"{Root}:Limits:MaxConcurrentSessions must be at least 1 (got {limits.MaxConcurrentSessions}).");
        }

        RequireAtLeast(errors, $"{Root}:Limits:MaxHandshakes", limits.MaxHandshakes, 1);
        RequireAtLeast(errors, $"{Root}:Limits:MaxHandshakesPerClient", limits.MaxHandshakesPerClient, 1);
        RequireAtLeast(errors, $"{Root}:Limits:MaxSessionsPerClient", limits.MaxSessionsPerClient, 1);
        RequireAtLeast(errors, $"{Root}:Limits:NewSessionsPerClientPerSecond", limits.NewSessionsPerClientPerSecond, 0);
        RequireAtLeast(errors, $"{Root}:Limits:NewSessionsPerClientBurst", limits.NewSessionsPerClientBurst, 0);
        RequireAtLeast(errors, $"{Root}:Limits:MaxDescriptors", limits.MaxDescriptors, 0);
        RequireAtLeast(errors, $"{Root}:Limits:ReservedDescriptors", limits.ReservedDescriptors, -1);
        if (limits.MaxDescriptors > 0 && limits.ReservedDescriptors >= limits.MaxDescriptors)
        {
            errors.Add($"{Root}:Limits:ReservedDescriptors ({limits.ReservedDescriptors}) must be less than {Root}:Limits:MaxDescriptors ({limits.MaxDescriptors}).");
        }

        ValidatePerUser(errors, limits.PerUser);

        if (options.Connect.HappyEyeballsDelay < TimeSpan.FromMilliseconds(10) || options.Connect.HappyEyeballsDelay > TimeSpan.FromSeconds(2))
        {
            errors.Add($"{Root}:Connect:HappyEyeballsDelay must be between 00:00:00.010 and 00:00:02 (RFC 8305 recommends 00:00:00.250; got {options.Connect.HappyEyeballsDelay}).");
        }

        // The rules compile here exactly as they do on a reload, so start and reload report the same errors.
        RuleSet.Create(options.Access, SelfEndPoints.None, errors);

        ValidateBind(errors, options.Bind);
        ValidateUdp(errors, options.Udp);
        if (!Enum.IsDefined(options.Relay.Mode))
        {
            errors.Add($"{Root}:Relay:Mode must be Auto, Splice, Socket or Pipe (got {options.Relay.Mode}).");
        }
        else if (options.Relay.Mode == RelayMode.Splice && !LinuxSplice.IsSupported)
        {
            errors.Add($"{Root}:Relay:Mode is Splice, but splice(2) is not available on this system; use Auto or Socket.");
        }

        var transport = options.Transport;
        if (transport.Backlog < 1)
        {
            errors.Add($"{Root}:Transport:Backlog must be at least 1 (got {transport.Backlog}).");
        }

        if (transport.ReceiveBufferSize is < 1024 or > 1024 * 1024)
        {
            errors.Add($"{Root}:Transport:ReceiveBufferSize must be between 1024 and 1048576 bytes (got {transport.ReceiveBufferSize}).");
        }

        if (transport.MaxBufferedBytes < transport.ReceiveBufferSize)
        {
            errors.Add($"{Root}:Transport:MaxBufferedBytes must be at least {Root}:Transport:ReceiveBufferSize ({transport.ReceiveBufferSize}; got {transport.MaxBufferedBytes}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateProxyProtocol(List<string> errors, KestrelSocksOptions options)
    {
        const string Key = $"{Root}:ProxyProtocol";
        var proxy = options.ProxyProtocol;
        ValidateEndPoints(errors, $"{Key}:Listen", proxy.Listen);
        for (var i = 0; i < proxy.Listen.Length; i++)
        {
            // Port 0 is a fresh port for each listener.
            if (EndPointParser.TryParse(proxy.Listen[i], out var endPoint) && endPoint.Port != 0
                && options.Listen.Any(l => EndPointParser.TryParse(l, out var plain) && plain.Equals(endPoint)))
            {
                errors.Add($"{Key}:Listen:{i} '{proxy.Listen[i]}' is also in {Root}:Listen; a listener either reads a PROXY protocol header on every connection or on none: give each its own port.");
            }
        }

        for (var i = 0; i < proxy.TrustedNetworks.Length; i++)
        {
            if (!TryParseNetwork(proxy.TrustedNetworks[i], out _))
            {
                errors.Add($"{Key}:TrustedNetworks:{i} '{proxy.TrustedNetworks[i]}' is not a network; use a CIDR such as 10.0.0.0/8 or fd00::/8, or one address such as 10.0.1.5.");
            }
        }

        if (proxy.Listen.Length > 0 && proxy.TrustedNetworks.Length == 0)
        {
            errors.Add($"{Key}:TrustedNetworks is empty, so no balancer could use {Key}:Listen; list the balancers' addresses (a header from anyone else would let them choose their own client address).");
        }

        if (proxy.Listen.Length == 0 && proxy.TrustedNetworks.Length > 0)
        {
            errors.Add($"{Key}:TrustedNetworks is set, but {Key}:Listen is empty: no listener reads the PROXY protocol. Add the balancer-facing listener to {Key}:Listen.");
        }

        RequirePositive(errors, $"{Key}:HeaderTimeout", proxy.HeaderTimeout);
    }

    /// <summary>A CIDR network, or a single address taken as its own /32 or /128.</summary>
    internal static bool TryParseNetwork(string value, out IPNetwork network)
    {
        if (IPNetwork.TryParse(value, out network))
        {
            return true;
        }

        if (!value.Contains('/') && IPAddress.TryParse(value, out var address))
        {
            var ipv4 = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
            if (ipv4 || address.ScopeId == 0)
            {
                network = new IPNetwork(address, ipv4 ? 32 : 128);
                return true;
            }
        }

        return false;
    }

    private static void ValidateEndPoints(List<string> errors, string key, string[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!EndPointParser.TryParse(values[i], out _))
            {
                errors.Add($"{key}:{i} '{values[i]}' is not an IP endpoint with a port; use a form such as 127.0.0.1:1080, 0.0.0.0:1080 or [::]:1080.");
            }
        }
    }

    private static void ValidateAuthentication(List<string> errors, KestrelSocksOptions options)
    {
        const string Key = $"{Root}:Authentication";
        var authentication = options.Authentication;
        if (!options.EffectiveAllowAnonymous && !authentication.UsernamePassword)
        {
            errors.Add(authentication.AllowAnonymous is null
                ? $"{Key}: no method is enabled. A SOCKS listener is not a loopback address, so anonymous access is off unless {Key}:AllowAnonymous=true says otherwise; set {Key}:UsernamePassword=true with at least one user, or {Key}:AllowAnonymous=true to let anyone who reaches the proxy use it."
                : $"{Key}: no method is enabled; set {Key}:AllowAnonymous=true or {Key}:UsernamePassword=true with at least one user.");
        }

        if (authentication.UsernamePassword && authentication.Users.Count == 0 && string.IsNullOrWhiteSpace(authentication.UsersFile))
        {
            errors.Add($"{Key}:Users is empty and {Key}:UsersFile is not set but {Key}:UsernamePassword is true; set {Key}:UsersFile (see 'hash-password'), or add {Key}:Users:0:Username and {Key}:Users:0:Password.");
        }

        ValidateThrottle(errors, authentication);

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < authentication.Users.Count; i++)
        {
            var user = authentication.Users[i];
            var username = user.Username ?? "";
            if (Encoding.UTF8.GetByteCount(username) > 255)
            {
                errors.Add($"{Key}:Users:{i}:Username is longer than 255 UTF-8 bytes, the RFC 1929 limit.");
            }

            if (Encoding.UTF8.GetByteCount(user.Password ?? "") > 255)
            {
                errors.Add($"{Key}:Users:{i}:Password is longer than 255 UTF-8 bytes, the RFC 1929 limit (the value is not shown).");
            }

            if (!seen.Add(username))
            {
                errors.Add($"{Key}:Users:{i}:Username '{username}' appears more than once; each username must be unique.");
            }

            foreach (var group in user.Groups ?? [])
            {
                if (string.IsNullOrWhiteSpace(group) || group.Any(char.IsControl))
                {
                    errors.Add($"{Key}:Users:{i}:Groups has an empty group name or one with a control character.");
                    break;
                }
            }
        }
    }

    private static void ValidateThrottle(List<string> errors, AuthenticationOptions authentication)
    {
        const string Key = $"{Root}:Authentication";
        if (authentication.HashIterations is < PasswordHash.MinIterations or > PasswordHash.MaxIterations)
        {
            errors.Add($"{Key}:HashIterations must be between {PasswordHash.MinIterations} and {PasswordHash.MaxIterations} (default {PasswordHash.DefaultIterations}; got {authentication.HashIterations}).");
        }

        if (authentication.RecentLoginTtl < TimeSpan.Zero || authentication.RecentLoginTtl > TimeSpan.FromDays(1))
        {
            errors.Add($"{Key}:RecentLoginTtl must be between 00:00:00 (off) and 1.00:00:00 (got {authentication.RecentLoginTtl}).");
        }

        if (authentication.MaxConcurrentVerifications is < 0 or > 1024)
        {
            errors.Add($"{Key}:MaxConcurrentVerifications must be between 0 (half the processors) and 1024 (got {authentication.MaxConcurrentVerifications}).");
        }

        if (authentication.FailuresBeforeDelay < 0)
        {
            errors.Add($"{Key}:FailuresBeforeDelay must be 0 or more (got {authentication.FailuresBeforeDelay}).");
        }

        if (authentication.FailuresBeforeBlock < 1)
        {
            errors.Add($"{Key}:FailuresBeforeBlock must be at least 1 (got {authentication.FailuresBeforeBlock}).");
        }

        if (authentication.FailureDelay < TimeSpan.Zero)
        {
            errors.Add($"{Key}:FailureDelay must be 00:00:00 or more (got {authentication.FailureDelay}).");
        }

        if (authentication.MaxFailureDelay < authentication.FailureDelay)
        {
            errors.Add($"{Key}:MaxFailureDelay must be at least {Key}:FailureDelay ({authentication.FailureDelay}; got {authentication.MaxFailureDelay}).");
        }

        RequirePositive(errors, $"{Key}:BlockDuration", authentication.BlockDuration);
        RequirePositive(errors, $"{Key}:FailureWindow", authentication.FailureWindow);
        if (authentication.MaxTrackedClients is < 1 or > 10_000_000)
        {
            errors.Add($"{Key}:MaxTrackedClients must be between 1 and 10000000 (got {authentication.MaxTrackedClients}).");
        }

        if (authentication.FailureLogsPerSecond < 1)
        {
            errors.Add($"{Key}:FailureLogsPerSecond must be at least 1 (got {authentication.FailureLogsPerSecond}).");
        }
    }

    private static void ValidatePerUser(List<string> errors, UserLimitsOptions perUser)
    {
        const string Key = $"{Root}:Limits:PerUser";
        if (perUser.MaxSessions < 0)
        {
            errors.Add($"{Key}:MaxSessions must be 0 (unlimited) or a number of sessions (got {perUser.MaxSessions}).");
        }

        if (perUser.MaxUdpAssociations < 0)
        {
            errors.Add($"{Key}:MaxUdpAssociations must be 0 (unlimited) or a number of associations (got {perUser.MaxUdpAssociations}).");
        }

        if (perUser.Bandwidth != 0 && perUser.Bandwidth is < UserLimitsOptions.MinimumBandwidth or > UserLimitsOptions.MaximumBandwidth)
        {
            errors.Add($"{Key}:Bandwidth must be 0 (unlimited) or between {UserLimitsOptions.MinimumBandwidth} and {UserLimitsOptions.MaximumBandwidth} bytes per second (got {perUser.Bandwidth}).");
        }

        if (perUser.BandwidthBurst != 0 && perUser.BandwidthBurst is < UserLimitsOptions.MinimumBurst or > UserLimitsOptions.MaximumBandwidth)
        {
            errors.Add($"{Key}:BandwidthBurst must be 0 (a tenth of a second of Bandwidth) or between {UserLimitsOptions.MinimumBurst} (the largest UDP datagram fits) and {UserLimitsOptions.MaximumBandwidth} bytes (got {perUser.BandwidthBurst}).");
        }
        else if (perUser.BandwidthBurst != 0 && perUser.Bandwidth == 0)
        {
            errors.Add($"{Key}:BandwidthBurst is set but {Key}:Bandwidth is 0 (unlimited); set a Bandwidth or remove the burst.");
        }
    }

    private static void ValidateBind(List<string> errors, BindOptions bind)
    {
        const string Key = $"{Root}:Bind";
        ValidateOptionalAddress(errors, $"{Key}:ListenAddress", bind.ListenAddress);
        ValidateOptionalAddress(errors, $"{Key}:AdvertisedAddress", bind.AdvertisedAddress);
        ValidatePortRange(errors, Key, bind.PortRangeStart, bind.PortRangeEnd);
        RequirePositive(errors, $"{Key}:AcceptTimeout", bind.AcceptTimeout);
    }

    private static void ValidateUdp(List<string> errors, UdpOptions udp)
    {
        const string Key = $"{Root}:Udp";
        ValidateOptionalAddress(errors, $"{Key}:ListenAddress", udp.ListenAddress);
        ValidateOptionalAddress(errors, $"{Key}:AdvertisedAddress", udp.AdvertisedAddress);
        ValidatePortRange(errors, Key, udp.PortRangeStart, udp.PortRangeEnd);
        RequirePositive(errors, $"{Key}:IdleTimeout", udp.IdleTimeout);
        RequirePositive(errors, $"{Key}:DnsCacheTtl", udp.DnsCacheTtl);
        if (udp.ReassemblyTimeout < TimeSpan.FromMilliseconds(100) || udp.ReassemblyTimeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{Key}:ReassemblyTimeout must be between 00:00:00.1 and 00:01:00 (RFC 1928 asks for at least 00:00:05; got {udp.ReassemblyTimeout}).");
        }

        if (udp.MaxAssociationsPerConnection is < 1 or > 65535)
        {
            errors.Add($"{Key}:MaxAssociationsPerConnection must be between 1 and 65535 (got {udp.MaxAssociationsPerConnection}).");
        }

        RequireAtLeast(errors, $"{Key}:MaxAssociationsPerClient", udp.MaxAssociationsPerClient, 1);
        RequireAtLeast(errors, $"{Key}:MaxAssociations", udp.MaxAssociations, 0);

        if (udp.MaxDatagramSize is < 1 or > 65_507)
        {
            errors.Add($"{Key}:MaxDatagramSize must be between 1 and 65507 bytes, the largest UDP payload over IPv4 (got {udp.MaxDatagramSize}).");
        }

        if (!Enum.IsDefined(udp.Engine))
        {
            errors.Add($"{Key}:Engine must be Auto, EventLoop or Portable (got {udp.Engine}).");
        }
        else if (udp.Engine == UdpEngineMode.EventLoop && !OperatingSystem.IsLinux())
        {
            errors.Add($"{Key}:Engine is EventLoop, which needs Linux (epoll, recvmmsg, sendmmsg); use Auto or Portable.");
        }

        if (!Enum.IsDefined(udp.Mode))
        {
            errors.Add($"{Key}:Mode must be PerAssociation or Shared (got {udp.Mode}).");
        }
        else if (udp.Mode == UdpMode.Shared)
        {
            if (udp.SharedPort is < 0 or > 65535)
            {
                errors.Add($"{Key}:SharedPort must be a port between 1 and 65535, or 0 for one the system picks at start (got {udp.SharedPort}).");
            }

            if (!OperatingSystem.IsLinux() || udp.Engine == UdpEngineMode.Portable)
            {
                errors.Add($"{Key}:Mode is Shared, which needs the Linux relay loops ({Key}:Engine Auto or EventLoop, on Linux).");
            }
        }
        else if (udp.SharedPort != 0)
        {
            errors.Add($"{Key}:SharedPort is set but {Key}:Mode is PerAssociation; set {Key}:Mode to Shared, or remove {Key}:SharedPort.");
        }

        if (udp.MaxQueueDelay != TimeSpan.Zero && (udp.MaxQueueDelay < TimeSpan.FromMilliseconds(1) || udp.MaxQueueDelay > TimeSpan.FromSeconds(10)))
        {
            errors.Add($"{Key}:MaxQueueDelay must be 00:00:00 (off) or between 00:00:00.001 and 00:00:10 (got {udp.MaxQueueDelay}).");
        }

        if (udp.EventLoopThreads is < 0 or > 256)
        {
            errors.Add($"{Key}:EventLoopThreads must be between 0 (one per processor) and 256 (got {udp.EventLoopThreads}).");
        }

        if (udp.SocketReceiveBufferSize is < 4096 or > 256 * 1024 * 1024)
        {
            errors.Add($"{Key}:SocketReceiveBufferSize must be between 4096 and 268435456 bytes (got {udp.SocketReceiveBufferSize}).");
        }

        if (udp.SocketSendBufferSize is < 4096 or > 256 * 1024 * 1024)
        {
            errors.Add($"{Key}:SocketSendBufferSize must be between 4096 and 268435456 bytes (got {udp.SocketSendBufferSize}).");
        }

        if (udp.SharedSocketReceiveBufferSize is < 4096 or > 256 * 1024 * 1024)
        {
            errors.Add($"{Key}:SharedSocketReceiveBufferSize must be between 4096 and 268435456 bytes (got {udp.SharedSocketReceiveBufferSize}).");
        }
    }

    internal static void ValidateOptionalAddress(List<string> errors, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value) && !IPAddress.TryParse(value, out _))
        {
            errors.Add($"{key} '{value}' is not an IP address such as 203.0.113.7 or 2001:db8::7; leave it empty for the default.");
        }
    }

    internal static void ValidatePortRange(List<string> errors, string key, int start, int end)
    {
        if (start == 0 && end == 0)
        {
            return;
        }

        if (start is < 1 or > 65535 || end is < 1 or > 65535 || start > end)
        {
            errors.Add($"{key}:PortRangeStart and {key}:PortRangeEnd must both be 0 (any ephemeral port) or form a range within 1-65535 with start <= end (got {start}-{end}).");
        }
    }

    private static void RequirePositive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be a positive duration such as 00:00:10 (got {value}).");
        }
    }

    private static void RequireAtLeast(List<string> errors, string key, int value, int minimum)
    {
        if (value < minimum)
        {
            errors.Add($"{key} must be at least {minimum} (got {value}).");
        }
    }
}
