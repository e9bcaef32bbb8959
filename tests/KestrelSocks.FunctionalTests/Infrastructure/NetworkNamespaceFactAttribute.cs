namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>
/// A test that builds network namespaces. Outside CI, a machine that cannot make them (not root, no iproute2) skips it
/// with the reason; with CI=true it is never skipped, so it fails with that reason instead of passing unseen.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    public NetworkNamespaceFactAttribute()
    {
        if (!NetworkNamespaces.IsCi && NetworkNamespaces.UnsupportedReason is { } reason)
        {
            Skip = $"Needs network namespaces: {reason}. With CI=true this test fails instead of skipping.";
        }
    }
}
