using System.Net;

namespace KestrelSocks.LoadTest;

/// <summary>Everything one run of the generator needs. Defaults are those of the command line.</summary>
internal sealed class LoadTestOptions
{
    /// <summary>Modes to run, in order.</summary>
    public List<LoadMode> Modes { get; set; } = [];

    /// <summary>The SOCKS5 server under test; null runs the direct path only.</summary>
    public IPEndPoint? Proxy { get; set; }

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>How the proxy is named in reports (kestrelsocks, dante, ...).</summary>
    public string ProxyName { get; set; } = "proxy";

    /// <summary>The proxy's process id: its CPU time and memory are read from /proc, summed over its process tree.</summary>
    public int? ServerPid { get; set; }

    public TargetSelection Targets { get; set; } = TargetSelection.Both;

    /// <summary>The measured window of each case.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Unmeasured time before each window (JIT, TCP ramp, pools).</summary>
    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>Stream counts for tcp-bulk.</summary>
    public List<int> Streams { get; set; } = [1, 8];

    /// <summary>Bytes per send and per receive in tcp-bulk.</summary>
    public int BulkChunkSize { get; set; } = 128 * 1024;

    /// <summary>Concurrent sessions of tcp-rr.</summary>
    public int Concurrency { get; set; } = 32;

    /// <summary>Bytes of the exchange in tcp-rr and of each ping in tcp-latency.</summary>
    public int MessageSize { get; set; } = 64;

    /// <summary>Association counts for udp.</summary>
    public List<int> Associations { get; set; } = [1, 100, 1000];

    /// <summary>The rate ladder for udp: aggregate datagrams per second, climbed until loss reaches the threshold.</summary>
    public List<int> UdpRates { get; set; } = [10_000, 25_000, 50_000, 100_000, 150_000];

    /// <summary>Measured time of each udp rate step.</summary>
    public TimeSpan UdpStepDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>UDP payload bytes, not counting the SOCKS header the proxy path adds.</summary>
    public int UdpPayloadSize { get; set; } = 1200;

    /// <summary>A rate step passes when its loss is below this fraction.</summary>
    public double LossThreshold { get; set; } = 0.001;

    /// <summary>Keep climbing the ladder after a step fails (default: stop at the first failure).</summary>
    public bool UdpFullLadder { get; set; }

    /// <summary>Pacing threads for udp (associations are split between them).</summary>
    public int UdpSenders { get; set; } = 2;

    /// <summary>Generator UDP sockets the associations are spread over, each with its own receive thread.</summary>
    public int UdpSockets { get; set; } = 4;

    /// <summary>Idle CONNECT sessions held open by the idle mode.</summary>
    public int Sessions { get; set; } = 10_000;

    public IdleTargetPlacement IdleTarget { get; set; } = IdleTargetPlacement.Auto;

    /// <summary>How long the idle sessions rest before memory is read.</summary>
    public TimeSpan IdleSettle { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Seed of the payload pattern.</summary>
    public int Seed { get; set; } = 5;

    /// <summary>Where report.md, report.json and the charts go; null writes nothing.</summary>
    public string? OutputDirectory { get; set; }

    /// <summary>Free text for the report header, such as the commit measured.</summary>
    public string? Commit { get; set; }

    public string? Note { get; set; }
}
