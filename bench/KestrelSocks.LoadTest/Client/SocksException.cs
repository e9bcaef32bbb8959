namespace KestrelSocks.LoadTest.Client;

/// <summary>The proxy answered, but not with what the generator asked for (a refusal, a bad reply).</summary>
internal sealed class SocksException : Exception
{
    public SocksException()
    {
    }

    public SocksException(string message)
        : base(message)
    {
    }

    public SocksException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
