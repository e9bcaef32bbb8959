namespace KestrelSocks.Access;

/// <summary>The commands a rule names; flags, so a rule's set of commands is one mask. None in a rule means any.</summary>
[Flags]
internal enum AccessCommand : byte
{
    None = 0,
    Connect = 1,
    Bind = 2,
    Udp = 4,
}
