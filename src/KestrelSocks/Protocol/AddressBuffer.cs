using System.Runtime.CompilerServices;

namespace KestrelSocks.Protocol;

/// <summary>Inline storage for the longest address RFC 1928 can carry (a 255-byte domain name), so parsing needs no heap.</summary>
[InlineArray(255)]
internal struct AddressBuffer
{
    private byte _element0;
}
