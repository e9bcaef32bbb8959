namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>How a connection ended as seen by the reading side: the bytes that came first, and whether it was a reset (RST) rather than a FIN.</summary>
internal sealed record ConnectionEnd(byte[] Data, bool WasReset);
