using System.Text.RegularExpressions;
using KestrelSocks.Access;
using KestrelSocks.Diagnostics;
using KestrelSocks.Protocol;
using KestrelSocks.Relay;

namespace KestrelSocks.Tests.Diagnostics;

public sealed partial class MetricNamesTests
{
    [Fact]
    public void EveryReplyCode_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<ReplyCode>(), MetricNames.GetReplyName);
    }

    [Fact]
    public void EveryHandshakeError_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<HandshakeError>(), MetricNames.GetErrorName);
    }

    [Fact]
    public void EveryConnectionRejectReason_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<ConnectionRejectReason>(), MetricNames.GetRejectReasonName);
    }

    [Fact]
    public void EveryTunnelEnd_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<TunnelEnd>(), MetricNames.GetTunnelEndName);
    }

    [Fact]
    public void EveryProxyHeaderRejectReason_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<ProxyHeaderRejectReason>(), MetricNames.GetProxyRejectReasonName);
        Assert.Equal("untrusted", MetricNames.GetProxyRejectReasonName(ProxyHeaderRejectReason.Untrusted));
    }

    [Fact]
    public void EveryAuthFailureReason_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<AuthFailureReason>(), MetricNames.GetAuthFailureName);
    }

    [Fact]
    public void EveryRequestRefusalReason_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<RequestRefusalReason>(), MetricNames.GetRefusalReasonName);
        Assert.Equal("user_sessions", MetricNames.GetRefusalReasonName(RequestRefusalReason.UserSessions));
        Assert.Equal("unknown", MetricNames.GetRefusalReasonName((RequestRefusalReason)99));
    }

    [Fact]
    public void EveryUdpDropReason_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<UdpDropReason>(), MetricNames.GetDropReasonName);
        Assert.Equal("bandwidth", MetricNames.GetDropReasonName(UdpDropReason.Bandwidth));
    }

    [Fact]
    public void EveryCommand_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<Socks5Command>(), command => MetricNames.GetCommandName((byte)command));
    }

    [Fact]
    public void EveryAccessPhase_HasADistinctSnakeCaseName()
    {
        AssertDistinctSnakeCaseNames(Enum.GetValues<AccessPhase>(), MetricNames.GetAccessPhaseName);
    }

    [Fact]
    public void EveryAccessCommand_IsNamedAsItsSocksCommand()
    {
        Assert.Equal(MetricNames.GetCommandName((byte)Socks5Command.Connect), MetricNames.GetAccessCommandName(AccessCommand.Connect));
        Assert.Equal(MetricNames.GetCommandName((byte)Socks5Command.Bind), MetricNames.GetAccessCommandName(AccessCommand.Bind));
        Assert.Equal(MetricNames.GetCommandName((byte)Socks5Command.UdpAssociate), MetricNames.GetAccessCommandName(AccessCommand.Udp));
    }

    [Fact]
    public void KnownValues_HaveTheDocumentedNames()
    {
        Assert.Equal("connect", MetricNames.GetCommandName(0x01));
        Assert.Equal("udp_associate", MetricNames.GetCommandName(0x03));
        Assert.Equal("connection_refused", MetricNames.GetReplyName(ReplyCode.ConnectionRefused));
        Assert.Equal("ttl_expired", MetricNames.GetReplyName(ReplyCode.TtlExpired));
        Assert.Equal("auth_failed", MetricNames.GetErrorName(HandshakeError.AuthenticationFailed));
        Assert.Equal("session_limit", MetricNames.GetRejectReasonName(ConnectionRejectReason.SessionLimit));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x04)]
    [InlineData(0x80)]
    [InlineData(0xFF)]
    public void UnknownCommandByte_IsUnknown(byte command)
    {
        // Clients may send any CMD byte; the tag must stay a small, fixed set of values.
        Assert.Equal("unknown", MetricNames.GetCommandName(command));
    }

    [Fact]
    public void UndefinedEnumValues_AreUnknown()
    {
        Assert.Equal("unknown", MetricNames.GetReplyName((ReplyCode)0x09));
        Assert.Equal("unknown", MetricNames.GetErrorName((HandshakeError)(-1)));
        Assert.Equal("unknown", MetricNames.GetRejectReasonName((ConnectionRejectReason)99));
    }

    private static void AssertDistinctSnakeCaseNames<T>(T[] values, Func<T, string> getName)
        where T : struct, Enum
    {
        Assert.NotEmpty(values);
        var seen = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var name = getName(value);

            Assert.True(SnakeCase().IsMatch(name), $"{typeof(T).Name}.{value} maps to '{name}', which is not snake_case.");
            Assert.True(name != "unknown", $"{typeof(T).Name}.{value} is not mapped.");
            Assert.True(seen.TryAdd(name, value), $"{typeof(T).Name}.{value} and {seen.GetValueOrDefault(name)} both map to '{name}'.");
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]
    private static partial Regex SnakeCase();
}
