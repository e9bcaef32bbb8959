namespace KestrelSocks.LoadTest.Reporting;

/// <summary>One rung of the UDP rate ladder.</summary>
internal sealed record UdpStepResult(
    int TargetRate,
    double AchievedSendRate,
    long Sent,
    long Received,
    long Lost,
    double LossFraction,
    double DeliveredRate,
    long Duplicates,
    long Corrupt,
    long Late,
    double? ServerCpuMicrosPerDatagram,
    double GeneratorCpuMicrosPerDatagram,
    bool Passed,
    bool SenderFellBehind);
