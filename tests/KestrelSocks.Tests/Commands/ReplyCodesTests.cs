using System.Net.Sockets;
using KestrelSocks.Commands;
using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Commands;

public sealed class ReplyCodesTests
{
    private static readonly Dictionary<SocketError, ReplyCode> _mapped = new()
    {
        [SocketError.ConnectionRefused] = ReplyCode.ConnectionRefused,
        [SocketError.HostUnreachable] = ReplyCode.HostUnreachable,
        [SocketError.HostNotFound] = ReplyCode.HostUnreachable,
        [SocketError.NoData] = ReplyCode.HostUnreachable,
        [SocketError.HostDown] = ReplyCode.HostUnreachable,
        [SocketError.NetworkUnreachable] = ReplyCode.NetworkUnreachable,
        [SocketError.NetworkDown] = ReplyCode.NetworkUnreachable,
        [SocketError.TimedOut] = ReplyCode.TtlExpired,
        [SocketError.AccessDenied] = ReplyCode.ConnectionNotAllowed,
    };

    [Theory]
    [InlineData(SocketError.ConnectionRefused, 0x05)]
    [InlineData(SocketError.HostUnreachable, 0x04)]
    [InlineData(SocketError.HostNotFound, 0x04)]
    [InlineData(SocketError.NoData, 0x04)]
    [InlineData(SocketError.HostDown, 0x04)]
    [InlineData(SocketError.NetworkUnreachable, 0x03)]
    [InlineData(SocketError.NetworkDown, 0x03)]
    [InlineData(SocketError.TimedOut, 0x06)]
    [InlineData(SocketError.AccessDenied, 0x02)]
    [InlineData(SocketError.ConnectionReset, 0x01)]
    [InlineData(SocketError.AddressNotAvailable, 0x01)]
    [InlineData(SocketError.SocketError, 0x01)]
    [InlineData(SocketError.OperationAborted, 0x01)]
    [InlineData(SocketError.TryAgain, 0x01)]
    public void FromSocketError_MapsToRfc1928ReplyCode(SocketError error, byte expected)
    {
        Assert.Equal(expected, (byte)ReplyCodes.FromSocketError(error));
    }

    [Fact]
    public void FromSocketError_EveryOtherError_IsGeneralFailure()
    {
        foreach (var error in Enum.GetValues<SocketError>())
        {
            var expected = _mapped.TryGetValue(error, out var code) ? code : ReplyCode.GeneralFailure;

            Assert.True(expected == ReplyCodes.FromSocketError(error), $"{error} maps to {ReplyCodes.FromSocketError(error)}, not {expected}.");
        }
    }

    [Fact]
    public void FromSocketError_NeverAnswersSuccessOrAProtocolCode()
    {
        foreach (var error in Enum.GetValues<SocketError>())
        {
            Assert.DoesNotContain(ReplyCodes.FromSocketError(error), new[] { ReplyCode.Succeeded, ReplyCode.CommandNotSupported, ReplyCode.AddressTypeNotSupported });
        }
    }

    [Fact]
    public void Rank_RefusedBeatsUnreachableBeatsNetworkBeatsTimeoutBeatsNotAllowedBeatsOthers()
    {
        SocketError[] descending =
        [
            SocketError.ConnectionRefused,
            SocketError.HostUnreachable,
            SocketError.NetworkUnreachable,
            SocketError.TimedOut,
            SocketError.AccessDenied,
            SocketError.ConnectionReset,
        ];

        for (var i = 1; i < descending.Length; i++)
        {
            Assert.True(
                ReplyCodes.Rank(descending[i - 1]) > ReplyCodes.Rank(descending[i]),
                $"{descending[i - 1]} should outrank {descending[i]}.");
        }
    }

    [Fact]
    public void Rank_ErrorsWithTheSameReplyCode_RankTheSame()
    {
        foreach (var error in Enum.GetValues<SocketError>())
        {
            var representative = ReplyCodes.FromSocketError(error) switch
            {
                ReplyCode.ConnectionRefused => SocketError.ConnectionRefused,
                ReplyCode.HostUnreachable => SocketError.HostUnreachable,
                ReplyCode.NetworkUnreachable => SocketError.NetworkUnreachable,
                ReplyCode.TtlExpired => SocketError.TimedOut,
                ReplyCode.ConnectionNotAllowed => SocketError.AccessDenied,
                _ => SocketError.SocketError,
            };

            Assert.Equal(ReplyCodes.Rank(representative), ReplyCodes.Rank(error));
        }
    }

    [Fact]
    public void Rank_GenericSocketError_IsTheLowest()
    {
        // The connector starts from SocketError.SocketError, so any real failure must be able to replace it.
        var lowest = ReplyCodes.Rank(SocketError.SocketError);

        Assert.All(Enum.GetValues<SocketError>(), error => Assert.True(ReplyCodes.Rank(error) >= lowest));
        Assert.True(ReplyCodes.Rank(SocketError.AccessDenied) > lowest);
    }
}
