namespace KestrelSocks.LoadTest.Modes;

/// <summary>How an exchange worker loops.</summary>
internal enum ExchangeLoop
{
    /// <summary>Whole sessions back to back, async on the thread pool (tcp-rr).</summary>
    Sessions,

    /// <summary>One session, ping-pong, async on the thread pool (tcp-latency).</summary>
    PingPong,

    /// <summary>
    /// One session, ping-pong with blocking calls on a dedicated thread (tcp-fairness), so the probe does not queue
    /// behind the generator's own load on the thread pool.
    /// </summary>
    BlockingPingPong,
}
