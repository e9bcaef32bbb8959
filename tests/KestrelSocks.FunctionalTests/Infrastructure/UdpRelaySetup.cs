namespace KestrelSocks.FunctionalTests.Infrastructure;

/// <summary>How the UDP relay under test drains its sockets and which port clients send to: each UDP test class runs once per setup.</summary>
public sealed record UdpRelaySetup(string Engine, bool SharedPort)
{
    /// <summary>The Linux relay loops, a port per association (the default there).</summary>
    public static UdpRelaySetup EventLoop { get; } = new("EventLoop", SharedPort: false);

    /// <summary>The portable engine, a port per association.</summary>
    public static UdpRelaySetup Portable { get; } = new("Portable", SharedPort: false);

    /// <summary>
    /// The Linux relay loops on one shared port (a free one, picked at start), with two loops so that the kernel's
    /// steering of clients between the shared port's sockets is on every datagram's path.
    /// </summary>
    public static UdpRelaySetup Shared { get; } = new("EventLoop", SharedPort: true);

    /// <summary>The settings, appended last so that they win.</summary>
    public string[] Settings => SharedPort
        ? [$"--KestrelSocks:Udp:Engine={Engine}", "--KestrelSocks:Udp:Mode=Shared", "--KestrelSocks:Udp:SharedPort=0", "--KestrelSocks:Udp:EventLoopThreads=2"]
        : [$"--KestrelSocks:Udp:Engine={Engine}"];
}
