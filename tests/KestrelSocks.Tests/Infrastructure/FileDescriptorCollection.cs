namespace KestrelSocks.Tests.Infrastructure;

/// <summary>
/// Tests that watch the process's file descriptors run alone: a test elsewhere opening a socket at the same time
/// would move the count.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FileDescriptorCollection
{
    public const string Name = "File descriptors";
}
