namespace KestrelSocks.Protocol;

/// <summary>The version identifier/method selection message (RFC 1928 section 3).</summary>
internal struct Greeting
{
    public MethodSet Methods;
}
