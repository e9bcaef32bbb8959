using System.Net;
using KestrelSocks.Protocol;
using KestrelSocks.Relay.Udp;

namespace KestrelSocks.Tests.Relay.Udp;

/// <summary>
/// RFC 1928 section 7 reassembly with the relaxed restart rule: reordering never restarts a sequence; a repeated
/// position, or a position past a last fragment already seen, does.
/// </summary>
public sealed class FragmentReassemblerTests
{
    private const int MaxSize = 64 * 1024;

    private readonly byte[] _assembled = new byte[MaxSize + 16];

    [Fact]
    public void New_IsNotActive()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Assert.False(reassembler.IsActive);
        Assert.Equal(0, reassembler.Reset());
    }

    [Fact]
    public void InOrder_CompletesOnTheLastFragment()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        var first = Add(reassembler, 0x01);
        var second = Add(reassembler, 0x02);
        var third = Add(reassembler, 0x83);

        Assert.Equal(FragmentResult.Pending, first.Result);
        Assert.Equal(FragmentResult.Pending, second.Result);
        Assert.Equal(FragmentResult.Complete, third.Result);
        Assert.Equal([.. Data(1), .. Data(2), .. Data(3)], third.Assembled);
        Assert.Equal(Destination(1).ToString(), third.Destination.ToString());
        Assert.All([first, second, third], added => Assert.Equal(0, added.Abandoned));
        Assert.False(reassembler.IsActive);
    }

    [Theory]
    [InlineData(new byte[] { 0x02, 0x01, 0x83 })]
    [InlineData(new byte[] { 0x83, 0x02, 0x01 })]
    [InlineData(new byte[] { 0x83, 0x01, 0x02 })]
    [InlineData(new byte[] { 0x01, 0x83, 0x02 })]
    [InlineData(new byte[] { 0x02, 0x83, 0x01 })]
    [InlineData(new byte[] { 0x84, 0x02, 0x03, 0x01 })]
    public void OutOfOrder_CompletesWhenTheLastGapFills_WithoutRestarting(byte[] order)
    {
        using var reassembler = new FragmentReassembler(MaxSize);
        var lastPosition = order.Max(fragment => fragment & 0x7F);

        for (var i = 0; i < order.Length - 1; i++)
        {
            var pending = Add(reassembler, order[i]);
            Assert.Equal(FragmentResult.Pending, pending.Result);
            Assert.Equal(0, pending.Abandoned);
            Assert.True(reassembler.IsActive);
        }

        var complete = Add(reassembler, order[^1]);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(0, complete.Abandoned);
        Assert.Equal(Concatenated(1, lastPosition), complete.Assembled);
        Assert.Equal(Destination(1).ToString(), complete.Destination.ToString());
        Assert.False(reassembler.IsActive);
    }

    [Fact]
    public void DestinationComesFromFragmentOne_EvenWhenItArrivesLast()
    {
        using var reassembler = new FragmentReassembler(MaxSize);
        var one = Socks5Address.FromDomainName("first.example", 53);

        Add(reassembler, 0x83, Data(3), Socks5Address.FromEndPoint(IPEndPoint.Parse("203.0.113.3:3")));
        Add(reassembler, 0x02, Data(2), Socks5Address.FromEndPoint(IPEndPoint.Parse("[2001:db8::2]:2")));
        var complete = Add(reassembler, 0x01, Data(1), one);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(AddressType.DomainName, complete.Destination.Type);
        Assert.Equal("first.example:53", complete.Destination.ToString());
    }

    [Fact]
    public void SingleFragmentSequence_CompletesAtOnce()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        var complete = Add(reassembler, 0x81);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(Data(1), complete.Assembled);
        Assert.Equal(Destination(1).ToString(), complete.Destination.ToString());
        Assert.Equal(0, complete.Abandoned);
        Assert.False(reassembler.IsActive);
    }

    [Fact]
    public void RepeatedPosition_RestartsWithTheSecondSequence()
    {
        using var reassembler = new FragmentReassembler(MaxSize);
        var second = Socks5Address.FromEndPoint(IPEndPoint.Parse("198.51.100.9:9"));

        Add(reassembler, 0x01, [0xA1, 0xA1], Destination(1));
        Add(reassembler, 0x02, [0xA2, 0xA2]);
        var restart = Add(reassembler, 0x01, [0xB1], second);
        var complete = Add(reassembler, 0x82, [0xB2, 0xB2, 0xB2]);

        Assert.Equal(FragmentResult.Pending, restart.Result);
        Assert.Equal(2, restart.Abandoned);
        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(0, complete.Abandoned);
        Assert.Equal([0xB1, 0xB2, 0xB2, 0xB2], complete.Assembled);
        Assert.Equal("198.51.100.9:9", complete.Destination.ToString());
    }

    [Fact]
    public void RepeatedLastPosition_Restarts()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x83);
        var restart = Add(reassembler, 0x83);

        Assert.Equal(FragmentResult.Pending, restart.Result);
        Assert.Equal(1, restart.Abandoned);
        Assert.Equal(1, reassembler.Reset());
    }

    [Fact]
    public void PositionPastASeenLastFragment_RestartsWithThatFragment()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x82);
        var restart = Add(reassembler, 0x03);
        Add(reassembler, 0x01);
        Add(reassembler, 0x02);
        var complete = Add(reassembler, 0x84);

        Assert.Equal(FragmentResult.Pending, restart.Result);
        Assert.Equal(1, restart.Abandoned);
        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(Concatenated(1, 4), complete.Assembled);
    }

    [Fact]
    public void LastFragmentBelowAPositionSeen_Restarts()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x01);
        Add(reassembler, 0x03);
        var restart = Add(reassembler, 0x82);
        var complete = Add(reassembler, 0x01);

        Assert.Equal(FragmentResult.Pending, restart.Result);
        Assert.Equal(2, restart.Abandoned);
        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(Concatenated(1, 2), complete.Assembled);
    }

    [Fact]
    public void LowerPositionAfterAHigherOne_IsReorderingNotARestart()
    {
        // RFC 1928 taken literally would restart here and lose fragment 3.
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x03);
        var lower = Add(reassembler, 0x01);

        Assert.Equal(FragmentResult.Pending, lower.Result);
        Assert.Equal(0, lower.Abandoned);
        Assert.Equal(2, reassembler.Reset());
    }

    [Fact]
    public void PositionZeroWithEndFlag_IsDropped()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        var dropped = Add(reassembler, 0x80);

        Assert.Equal(FragmentResult.Dropped, dropped.Result);
        Assert.Equal(0, dropped.Abandoned);
        Assert.Equal(0, dropped.AssembledLength);
        Assert.False(reassembler.IsActive);
    }

    [Fact]
    public void PositionZeroWithEndFlag_LeavesAnActiveSequenceAlone()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x01);
        var dropped = Add(reassembler, 0x80);
        var complete = Add(reassembler, 0x82);

        Assert.Equal(FragmentResult.Dropped, dropped.Result);
        Assert.Equal(0, dropped.Abandoned);
        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(Concatenated(1, 2), complete.Assembled);
    }

    [Fact]
    public void AllPositions_1To126ThenFF_Complete()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        for (var position = 1; position <= 126; position++)
        {
            Assert.Equal(FragmentResult.Pending, Add(reassembler, (byte)position).Result);
        }

        var complete = Add(reassembler, 0xFF);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(Concatenated(1, 127), complete.Assembled);
        Assert.Equal(127 * 128 / 2, complete.AssembledLength);
        Assert.False(reassembler.IsActive);
    }

    [Fact]
    public void AllPositions_FFFirstThenDescending_Complete()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Assert.Equal(FragmentResult.Pending, Add(reassembler, 0xFF).Result);
        for (var position = 126; position >= 2; position--)
        {
            var pending = Add(reassembler, (byte)position);
            Assert.Equal(FragmentResult.Pending, pending.Result);
            Assert.Equal(0, pending.Abandoned);
        }

        var complete = Add(reassembler, 0x01);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(Concatenated(1, 127), complete.Assembled);
    }

    [Fact]
    public void ExactlyMaxSize_Completes()
    {
        using var reassembler = new FragmentReassembler(10);

        Add(reassembler, 0x01, new byte[6]);
        var complete = Add(reassembler, 0x82, new byte[4]);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(10, complete.AssembledLength);
    }

    [Fact]
    public void SequenceOverMaxSize_IsDropped_AndAbandonsWhatItHeld()
    {
        using var reassembler = new FragmentReassembler(10);

        Add(reassembler, 0x01, new byte[4]);
        Add(reassembler, 0x02, new byte[4]);
        var dropped = Add(reassembler, 0x03, new byte[4]);

        Assert.Equal(FragmentResult.Dropped, dropped.Result);

        // The two queued fragments are abandoned; the one passed in is what Dropped reports, so the caller counts
        // three drops in all.
        Assert.Equal(2, dropped.Abandoned);
        Assert.False(reassembler.IsActive);
        Assert.Equal(0, reassembler.Reset());
    }

    [Fact]
    public void SingleFragmentOverMaxSize_IsDroppedAlone()
    {
        using var reassembler = new FragmentReassembler(10);

        var dropped = Add(reassembler, 0x01, new byte[11]);

        Assert.Equal(FragmentResult.Dropped, dropped.Result);
        Assert.Equal(0, dropped.Abandoned);
        Assert.False(reassembler.IsActive);
    }

    [Fact]
    public void AfterAnOversizeDrop_ANewSequenceWorks()
    {
        using var reassembler = new FragmentReassembler(10);

        Add(reassembler, 0x01, new byte[8]);
        Add(reassembler, 0x02, new byte[8]);
        Add(reassembler, 0x01, [1, 2]);
        var complete = Add(reassembler, 0x82, [3]);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal([1, 2, 3], complete.Assembled);
    }

    [Fact]
    public void Reset_ReturnsTheFragmentsHeld_AndDeactivates()
    {
        using var reassembler = new FragmentReassembler(MaxSize);
        Add(reassembler, 0x01);
        Add(reassembler, 0x02);
        Add(reassembler, 0x84);

        Assert.Equal(3, reassembler.Reset());
        Assert.False(reassembler.IsActive);
        Assert.Equal(0, reassembler.Reset());

        // Nothing of the abandoned sequence survives: fragment 1 starts afresh, and 0x82 completes without 4.
        Assert.Equal(0, Add(reassembler, 0x01).Abandoned);
        var complete = Add(reassembler, 0x82);
        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal(Concatenated(1, 2), complete.Assembled);
    }

    [Fact]
    public void IsActiveAndStartedAt_FollowTheSequence()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x02, now: 100);
        Assert.True(reassembler.IsActive);
        Assert.Equal(100, reassembler.StartedAt);

        Add(reassembler, 0x03, now: 250);
        Assert.Equal(100, reassembler.StartedAt);

        // A restart begins a new sequence, and with it a new start time.
        Add(reassembler, 0x02, now: 300);
        Assert.True(reassembler.IsActive);
        Assert.Equal(300, reassembler.StartedAt);

        Add(reassembler, 0x01, now: 350);
        Assert.Equal(FragmentResult.Complete, Add(reassembler, 0x83, now: 400).Result);
        Assert.False(reassembler.IsActive);

        Add(reassembler, 0x01, now: 500);
        Assert.Equal(500, reassembler.StartedAt);
    }

    [Fact]
    public void Complete_WritesExactlyTheAssembledBytes()
    {
        using var reassembler = new FragmentReassembler(MaxSize);
        var assembled = new byte[64];
        assembled.AsSpan().Fill(0xCC);

        reassembler.Add(0x02, Destination(2), [4, 5, 6], 0, assembled, out _, out _, out _);
        reassembler.Add(0x01, Destination(1), [1, 2, 3], 0, assembled, out _, out _, out _);
        var result = reassembler.Add(0x83, Destination(3), [7], 0, assembled, out var length, out _, out _);

        Assert.Equal(FragmentResult.Complete, result);
        Assert.Equal(7, length);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], assembled[..length]);
        Assert.All(assembled[length..], value => Assert.Equal(0xCC, value));
    }

    [Fact]
    public void EmptyFragments_Complete()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x01, []);
        var complete = Add(reassembler, 0x82, [9]);

        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal([9], complete.Assembled);
    }

    [Fact]
    public void AfterCompletion_TheNextSequenceStartsClean()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        Add(reassembler, 0x01, [1, 1, 1, 1, 1, 1]);
        Add(reassembler, 0x02, [2, 2, 2, 2, 2, 2]);
        Assert.Equal(FragmentResult.Complete, Add(reassembler, 0x83, [3, 3, 3, 3, 3, 3]).Result);

        var one = Add(reassembler, 0x01, [0xA1]);
        var complete = Add(reassembler, 0x82, [0xA2]);

        Assert.Equal(0, one.Abandoned);
        Assert.Equal(FragmentResult.Complete, complete.Result);
        Assert.Equal([0xA1, 0xA2], complete.Assembled);
        Assert.Equal(Destination(1).ToString(), complete.Destination.ToString());
    }

    [Fact]
    public void ManySequencesInARow_EachComplete()
    {
        using var reassembler = new FragmentReassembler(MaxSize);

        for (var sequence = 0; sequence < 100; sequence++)
        {
            var value = (byte)sequence;
            Add(reassembler, 0x02, [value, 2]);
            var complete = Add(reassembler, 0x01, [value, 1]);
            Assert.Equal(FragmentResult.Pending, complete.Result);
            complete = Add(reassembler, 0x83, [value, 3]);

            Assert.Equal(FragmentResult.Complete, complete.Result);
            Assert.Equal(0, complete.Abandoned);
            Assert.Equal([value, 1, value, 2, value, 3], complete.Assembled);
        }
    }

    [Fact]
    public void Dispose_AbandonsTheQueue()
    {
        var reassembler = new FragmentReassembler(MaxSize);
        Add(reassembler, 0x01);

        reassembler.Dispose();

        Assert.False(reassembler.IsActive);
        Assert.Equal(0, reassembler.Reset());
    }

    /// <summary>Fragment data for a position: <paramref name="position"/> bytes of value <paramref name="position"/>.</summary>
    private static byte[] Data(int position) => Enumerable.Repeat((byte)position, position).ToArray();

    private static byte[] Concatenated(int first, int last) =>
        Enumerable.Range(first, last - first + 1).SelectMany(Data).ToArray();

    /// <summary>A destination per position, so the one a sequence reports shows which fragment it came from.</summary>
    private static Socks5Address Destination(int position) =>
        Socks5Address.FromEndPoint(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1000 + position));

    private Added Add(FragmentReassembler reassembler, byte fragment, long now = 0) =>
        Add(reassembler, fragment, Data(fragment & 0x7F), Destination(fragment & 0x7F), now);

    private Added Add(FragmentReassembler reassembler, byte fragment, byte[] data, long now = 0) =>
        Add(reassembler, fragment, data, Destination(fragment & 0x7F), now);

    private Added Add(FragmentReassembler reassembler, byte fragment, byte[] data, Socks5Address destination, long now = 0)
    {
        var result = reassembler.Add(fragment, destination, data, now, _assembled, out var length, out var assembledDestination, out var abandoned);
        if (result != FragmentResult.Complete)
        {
            Assert.Equal(0, length);
        }

        return new Added(result, _assembled[..length], length, assembledDestination, abandoned);
    }

    private readonly record struct Added(FragmentResult Result, byte[] Assembled, int AssembledLength, Socks5Address Destination, int Abandoned);
}
