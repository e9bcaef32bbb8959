namespace KestrelSocks.Configuration;

/// <summary>The socket transport under every listener.</summary>
internal sealed class TransportOptions
{
    /// <summary>Pending connections the kernel queues per listener.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>Bytes asked for per receive call; larger means fewer system calls on bulk transfers.</summary>
    public int ReceiveBufferSize { get; set; } = 32 * 1024;

    /// <summary>Bytes buffered in each direction before reading from the other side pauses (back-pressure).</summary>
    public int MaxBufferedBytes { get; set; } = 1024 * 1024;
}
