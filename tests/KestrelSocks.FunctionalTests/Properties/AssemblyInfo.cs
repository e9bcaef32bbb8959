// Every test starts a real host on loopback and some measure time (handshake, idle and drain timeouts) or read
// process-wide metrics: they run one at a time, so a 2-core CI machine gives each the same, predictable headroom.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
