namespace KestrelSocks.Configuration;

/// <summary>How the UDP relay waits on and drains its sockets.</summary>
internal enum UdpEngineMode
{
    /// <summary><see cref="EventLoop"/> on Linux, <see cref="Portable"/> elsewhere.</summary>
    Auto,

    /// <summary>Linux: relay threads that own their sockets, epoll for readiness, recvmmsg/sendmmsg for datagrams, one socket per association.</summary>
    EventLoop,

    /// <summary>Any system: pooled readiness receives on the runtime's socket engine, one datagram per system call, two sockets per association.</summary>
    Portable,
}
