using System.Net;
using System.Net.Sockets;
using KestrelSocks.Commands;

namespace KestrelSocks.Tests.Commands;

public sealed class HappyEyeballsConnectorTests
{
    [Fact]
    public void Interleave_IPv4First_AlternatesStartingWithIPv4()
    {
        var result = HappyEyeballsConnector.Interleave(Addresses("192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"));

        Assert.Equal(Addresses("192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2"), result);
    }

    [Fact]
    public void Interleave_IPv6First_AlternatesStartingWithIPv6()
    {
        var result = HappyEyeballsConnector.Interleave(Addresses("2001:db8::1", "2001:db8::2", "2001:db8::3", "192.0.2.1", "192.0.2.2"));

        Assert.Equal(Addresses("2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3"), result);
    }

    [Fact]
    public void Interleave_OneFamilyRunsOut_TheRestKeepTheirOrder()
    {
        var result = HappyEyeballsConnector.Interleave(Addresses("192.0.2.1", "2001:db8::1", "2001:db8::2", "2001:db8::3"));

        Assert.Equal(Addresses("192.0.2.1", "2001:db8::1", "2001:db8::2", "2001:db8::3"), result);
    }

    [Fact]
    public void Interleave_MixedInput_KeepsRelativeOrderWithinEachFamily()
    {
        var result = HappyEyeballsConnector.Interleave(Addresses("192.0.2.3", "2001:db8::9", "192.0.2.1", "2001:db8::5", "192.0.2.2"));

        Assert.Equal(Addresses("192.0.2.3", "2001:db8::9", "192.0.2.1", "2001:db8::5", "192.0.2.2"), result);
    }

    [Theory]
    [InlineData("192.0.2.1")]
    [InlineData("192.0.2.3,192.0.2.1,192.0.2.2")]
    [InlineData("2001:db8::3,2001:db8::1,2001:db8::2")]
    public void Interleave_SingleFamily_IsUnchanged(string list)
    {
        var addresses = Addresses(list.Split(','));

        Assert.Equal(addresses, HappyEyeballsConnector.Interleave(addresses));
    }

    [Fact]
    public void Interleave_EveryFamilyPattern_AlternatesAndKeepsOrder()
    {
        // All 2^n arrangements of IPv4/IPv6 for n = 1..8, each address numbered by its input position.
        for (var length = 1; length <= 8; length++)
        {
            for (var pattern = 0; pattern < (1 << length); pattern++)
            {
                var input = new IPAddress[length];
                for (var i = 0; i < length; i++)
                {
                    input[i] = (pattern & (1 << i)) != 0
                        ? new IPAddress([0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)i])
                        : new IPAddress([192, 0, 2, (byte)i]);
                }

                AssertInterleaved(input, HappyEyeballsConnector.Interleave(input));
            }
        }
    }

    [Fact]
    public void Interleave_IPv4MappedIPv6_CountsAsIPv6()
    {
        var mapped = IPAddress.Parse("::ffff:192.0.2.9");
        var result = HappyEyeballsConnector.Interleave([IPAddress.Parse("192.0.2.1"), IPAddress.Parse("192.0.2.2"), mapped]);

        Assert.Equal(AddressFamily.InterNetworkV6, mapped.AddressFamily);
        Assert.Equal([IPAddress.Parse("192.0.2.1"), mapped, IPAddress.Parse("192.0.2.2")], result);
    }

    private static void AssertInterleaved(IPAddress[] input, IPAddress[] result)
    {
        var first = input[0].AddressFamily;
        var preferred = input.Where(a => a.AddressFamily == first).ToList();
        var other = input.Where(a => a.AddressFamily != first).ToList();

        // Expected: preferred, other, preferred, other ... until one family runs out, then the rest in order.
        var expected = new List<IPAddress>();
        for (var i = 0; i < Math.Max(preferred.Count, other.Count); i++)
        {
            if (i < preferred.Count)
            {
                expected.Add(preferred[i]);
            }

            if (i < other.Count)
            {
                expected.Add(other[i]);
            }
        }

        var message = $"{string.Join(",", input.Select(a => a.ToString()))} -> {string.Join(",", result.Select(a => a.ToString()))}";
        Assert.True(expected.SequenceEqual(result), message);
        Assert.Equal(first, result[0].AddressFamily);
        Assert.Equal(preferred, result.Where(a => a.AddressFamily == first));
        Assert.Equal(other, result.Where(a => a.AddressFamily != first));
    }

    private static IPAddress[] Addresses(params string[] values) => [.. values.Select(IPAddress.Parse)];
}
