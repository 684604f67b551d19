namespace Braid.Bench.Nats;

/// <summary>
/// One row of the comparison: the same pre-encoded messages for both systems. For Braid each is
/// one batch (one Raft entry) through an ingest session; for NATS one JetStream publish.
/// The first <see cref="WarmupMessages"/> are sent and acknowledged before the clock starts.
/// </summary>
public sealed record CompareWorkload(string Name, List<(byte[] Payload, int Records)> Messages, int WarmupMessages)
{
    public long Records { get; } = Messages.Sum(m => (long)m.Records);
    public long PayloadBytes { get; } = Messages.Sum(m => (long)m.Payload.Length);

    /// <summary>Records in the timed part (after the warm-up).</summary>
    public long TimedRecords => Records - Messages.Take(WarmupMessages).Sum(m => (long)m.Records);

    /// <summary>Payload bytes in the timed part.</summary>
    public long TimedBytes => PayloadBytes - Messages.Take(WarmupMessages).Sum(m => (long)m.Payload.Length);

    /// <summary>The warm-up for <paramref name="messages"/> messages: 5% of them, at most 2,000 and at least one
    /// (when there are two or more), the same for both systems.</summary>
    public static int DefaultWarmup(int messages) => messages < 2 ? 0 : Math.Clamp(messages / 20, 1, 2_000);
}

/// <summary>What one timed run of a workload against one system measured.</summary>
public sealed record RunFigures(long Records, long Messages, long PayloadBytes, TimeSpan Elapsed)
{
    public double RecordsPerSecond => Records / Math.Max(1e-9, Elapsed.TotalSeconds);
    public double MessagesPerSecond => Messages / Math.Max(1e-9, Elapsed.TotalSeconds);
    public double MegabytesPerSecond => PayloadBytes / 1048576.0 / Math.Max(1e-9, Elapsed.TotalSeconds);
}
