using KestrelSocks.Diagnostics;

namespace KestrelSocks.Tests.Diagnostics;

public sealed class BuildInfoTests
{
    [Theory]
    [InlineData("1.2.3+0123abcd", "1.2.3", "0123abcd")]
    [InlineData("1.2.3-beta.1+0123abcd", "1.2.3-beta.1", "0123abcd")]
    [InlineData("1.2.3", "1.2.3", BuildInfo.UnknownCommit)]
    [InlineData("1.2.3+", "1.2.3", BuildInfo.UnknownCommit)]
    [InlineData(null, "0.0.0", BuildInfo.UnknownCommit)]
    [InlineData("", "0.0.0", BuildInfo.UnknownCommit)]
    public void Parse_SplitsVersionAndCommitAtThePlus(string? informationalVersion, string version, string commit)
    {
        Assert.Equal(new BuildInfo(version, commit), BuildInfo.Parse(informationalVersion));
    }
}
