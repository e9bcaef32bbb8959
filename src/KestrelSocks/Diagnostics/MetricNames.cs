using KestrelSocks.Access;
using KestrelSocks.Protocol;
using KestrelSocks.Relay;

namespace KestrelSocks.Diagnostics;

/// <summary>Instrument and tag names, and the snake_case values enums map to. Every enum value has a name here.</summary>
internal static class MetricNames
{
    public const string MeterName = "KestrelSocks";

    public const string CommandTag = "socks.command";
    public const string ReplyTag = "socks.reply";
    public const string DirectionTag = "socks.direction";
    public const string ErrorTypeTag = "error.type";
    public const string ReasonTag = "socks.reject_reason";
    public const string BindResultTag = "socks.bind.result";
    public const string DropReasonTag = "socks.drop_reason";
    public const string EndReasonTag = "socks.end_reason";
    public const string RefusalReasonTag = "socks.refusal_reason";
    public const string ResourceTag = "socks.resource";
    public const string AuthFailureTag = "socks.auth_failure";
    public const string AccessRuleTag = "socks.access.rule";
    public const string AccessPhaseTag = "socks.access.phase";
    public const string TunnelEndTag = "socks.tunnel.end";
    public const string ProxyVersionTag = "socks.proxy_protocol.version";
    public const string ProxyCommandTag = "socks.proxy_protocol.command";
    public const string ProxyRejectReasonTag = "socks.proxy_protocol.reason";

    public const string Upstream = "upstream";
    public const string Downstream = "downstream";

    public static string GetCommandName(byte command) => command switch
    {
        (byte)Socks5Command.Connect => "connect",
        (byte)Socks5Command.Bind => "bind",
        (byte)Socks5Command.UdpAssociate => "udp_associate",
        _ => "unknown",
    };

    public static string GetAccessCommandName(AccessCommand command) => command switch
    {
        AccessCommand.Connect => "connect",
        AccessCommand.Bind => "bind",
        AccessCommand.Udp => "udp_associate",
        _ => "unknown",
    };

    public static string GetAccessPhaseName(AccessPhase phase) => phase switch
    {
        AccessPhase.Request => "request",
        AccessPhase.Address => "address",
        AccessPhase.Datagram => "datagram",
        _ => "unknown",
    };

    public static string GetReplyName(ReplyCode reply) => reply switch
    {
        ReplyCode.Succeeded => "succeeded",
        ReplyCode.GeneralFailure => "general_failure",
        ReplyCode.ConnectionNotAllowed => "connection_not_allowed",
        ReplyCode.NetworkUnreachable => "network_unreachable",
        ReplyCode.HostUnreachable => "host_unreachable",
        ReplyCode.ConnectionRefused => "connection_refused",
        ReplyCode.TtlExpired => "ttl_expired",
        ReplyCode.CommandNotSupported => "command_not_supported",
        ReplyCode.AddressTypeNotSupported => "address_type_not_supported",
        _ => "unknown",
    };

    public static string GetErrorName(HandshakeError error) => error switch
    {
        HandshakeError.BadVersion => "bad_version",
        HandshakeError.NoAcceptableMethod => "no_acceptable_method",
        HandshakeError.AuthenticationFailed => "auth_failed",
        HandshakeError.MalformedRequest => "malformed_request",
        HandshakeError.UnsupportedAddressType => "unsupported_address_type",
        HandshakeError.Timeout => "timeout",
        HandshakeError.ClientClosed => "client_closed",
        HandshakeError.Shutdown => "shutdown",
        _ => "unknown",
    };

    public static string GetBindResultName(BindResult result) => result switch
    {
        BindResult.Accepted => "accepted",
        BindResult.Timeout => "timeout",
        BindResult.ClientClosed => "client_closed",
        BindResult.ListenFailed => "listen_failed",
        BindResult.Shutdown => "shutdown",
        _ => "unknown",
    };

    public static string GetDropReasonName(UdpDropReason reason) => reason switch
    {
        UdpDropReason.WrongSource => "wrong_source",
        UdpDropReason.Malformed => "malformed",
        UdpDropReason.TooLarge => "too_large",
        UdpDropReason.FragmentDropped => "fragment_dropped",
        UdpDropReason.ReassemblyTimeout => "reassembly_timeout",
        UdpDropReason.DnsFailure => "dns_failure",
        UdpDropReason.SendFailure => "send_failure",
        UdpDropReason.Policy => "policy",
        UdpDropReason.ClientUnknown => "client_unknown",
        UdpDropReason.Unsolicited => "unsolicited",
        UdpDropReason.InternalError => "internal_error",
        UdpDropReason.QueueDelay => "queue_delay",
        UdpDropReason.Bandwidth => "bandwidth",
        _ => "unknown",
    };

    public static string GetAssociationEndName(UdpAssociationEnd end) => end switch
    {
        UdpAssociationEnd.ControlClosed => "control_closed",
        UdpAssociationEnd.IdleTimeout => "idle_timeout",
        UdpAssociationEnd.Shutdown => "shutdown",
        UdpAssociationEnd.SocketError => "socket_error",
        _ => "unknown",
    };

    public static string GetTunnelEndName(TunnelEnd end) => end switch
    {
        TunnelEnd.Completed => "completed",
        TunnelEnd.IdleTimeout => "idle_timeout",
        TunnelEnd.ClientFailed => "client_failed",
        TunnelEnd.UpstreamFailed => "upstream_failed",
        _ => "unknown",
    };

    public static string GetProxyRejectReasonName(ProxyHeaderRejectReason reason) => reason switch
    {
        ProxyHeaderRejectReason.Untrusted => "untrusted",
        ProxyHeaderRejectReason.Missing => "missing",
        ProxyHeaderRejectReason.Malformed => "malformed",
        ProxyHeaderRejectReason.Unsupported => "unsupported",
        ProxyHeaderRejectReason.Oversized => "oversized",
        ProxyHeaderRejectReason.Truncated => "truncated",
        ProxyHeaderRejectReason.Timeout => "timeout",
        _ => "unknown",
    };

    public static string GetRejectReasonName(ConnectionRejectReason reason) => reason switch
    {
        ConnectionRejectReason.SessionLimit => "session_limit",
        ConnectionRejectReason.DescriptorBudget => "descriptor_budget",
        ConnectionRejectReason.HandshakeLimit => "handshake_limit",
        ConnectionRejectReason.ClientHandshakeLimit => "client_handshake_limit",
        ConnectionRejectReason.ClientSessionLimit => "client_session_limit",
        ConnectionRejectReason.ClientRateLimit => "client_rate_limit",
        _ => "unknown",
    };

    public static string GetRefusalReasonName(RequestRefusalReason reason) => reason switch
    {
        RequestRefusalReason.DescriptorBudget => "descriptor_budget",
        RequestRefusalReason.AssociationLimit => "association_limit",
        RequestRefusalReason.ClientAssociationLimit => "client_association_limit",
        RequestRefusalReason.ConnectionAssociationLimit => "connection_association_limit",
        RequestRefusalReason.UserSessions => "user_sessions",
        RequestRefusalReason.UserUdpAssociations => "user_udp_associations",
        RequestRefusalReason.ClientEndPointInUse => "client_endpoint_in_use",
        _ => "unknown",
    };

    public static string GetResourceName(DescriptorUse use) => use switch
    {
        DescriptorUse.Connection => "connection",
        DescriptorUse.Upstream => "upstream",
        DescriptorUse.BindListener => "bind_listener",
        DescriptorUse.UdpAssociation => "udp_association",
        DescriptorUse.SplicePipe => "splice_pipe",
        _ => "unknown",
    };

    public static string GetAuthFailureName(AuthFailureReason reason) => reason switch
    {
        AuthFailureReason.Failed => "failed",
        AuthFailureReason.Throttled => "throttled",
        AuthFailureReason.Blocked => "blocked",
        _ => "unknown",
    };
}
