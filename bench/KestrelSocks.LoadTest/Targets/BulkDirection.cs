namespace KestrelSocks.LoadTest.Targets;

/// <summary>Which way the bytes of a bulk stream flow, as seen from the generator's client.</summary>
internal enum BulkDirection : byte
{
    Upload = (byte)'U',
    Download = (byte)'D',
}
