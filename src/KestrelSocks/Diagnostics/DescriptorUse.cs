namespace KestrelSocks.Diagnostics;

/// <summary>What a descriptor the budget refused was for.</summary>
internal enum DescriptorUse
{
    Connection,
    Upstream,
    BindListener,
    UdpAssociation,
    SplicePipe,
}
