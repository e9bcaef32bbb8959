using KestrelSocks.Protocol;

namespace KestrelSocks.Tests.Protocol;

public sealed class MethodSetTests
{
    [Fact]
    public void Default_IsEmptyAndContainsNothing()
    {
        var set = default(MethodSet);

        Assert.True(set.IsEmpty);
        for (var value = 0; value < 256; value++)
        {
            Assert.False(set.Contains((AuthMethod)value));
        }
    }

    [Fact]
    public void Add_EachValue_ContainsExactlyThatValue()
    {
        for (var added = 0; added < 256; added++)
        {
            var set = default(MethodSet);
            set.Add((byte)added);

            Assert.False(set.IsEmpty);
            for (var value = 0; value < 256; value++)
            {
                Assert.True(value == added == set.Contains((AuthMethod)value), $"Added {added}, Contains({value}) is {set.Contains((AuthMethod)value)}.");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(191)]
    [InlineData(192)]
    [InlineData(255)]
    public void Add_WordBoundary_DoesNotSpillIntoNeighbours(byte value)
    {
        var set = default(MethodSet);
        set.Add(value);

        Assert.True(set.Contains((AuthMethod)value));
        if (value > 0)
        {
            Assert.False(set.Contains((AuthMethod)(value - 1)));
        }

        if (value < 255)
        {
            Assert.False(set.Contains((AuthMethod)(value + 1)));
        }

        // The same bit in the other three 64-bit words stays clear.
        for (var word = 1; word < 4; word++)
        {
            Assert.False(set.Contains((AuthMethod)((value + (64 * word)) % 256)));
        }
    }

    [Fact]
    public void Add_AllValues_ContainsAll()
    {
        var set = default(MethodSet);
        for (var value = 0; value < 256; value++)
        {
            set.Add((byte)value);
        }

        for (var value = 0; value < 256; value++)
        {
            Assert.True(set.Contains((AuthMethod)value));
        }
    }

    [Fact]
    public void Add_Twice_IsIdempotentAndKeepsOthers()
    {
        var set = default(MethodSet);
        set.Add(0x02);
        set.Add(0x02);
        set.Add(0xFF);

        Assert.True(set.Contains(AuthMethod.UsernamePassword));
        Assert.True(set.Contains(AuthMethod.NoAcceptableMethods));
        Assert.False(set.Contains(AuthMethod.NoAuthentication));
        Assert.False(set.Contains(AuthMethod.Gssapi));
    }
}
