namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>Tests that measure a rate over wall-clock time run with no other test beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneCollection
{
    public const string Name = "Runs alone";
}
