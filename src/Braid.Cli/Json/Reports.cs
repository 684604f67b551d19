using System.Text.Json.Serialization;

namespace Braid.Cli.Json;

// The documents printed by --json (besides status's ClusterStatusReport). Their property names
// (snake_case through CliJson) are an interface: add fields, do not rename them. docs/json.md.

/// <summary><c>braid placement --json</c>.</summary>
internal sealed record PlacementReport(
    string Topology,
    int ReplicaCount,
    int Quorum,
    IReadOnlyList<PlacementPartitionReport> Partitions,
    IReadOnlyList<PlacementNodeReport> Nodes,
    IReadOnlyList<SiteSplitReport> SiteSplits);

internal sealed record PlacementPartitionReport(int Partition, IReadOnlyList<string> Replicas, string PreferredLeader, IReadOnlyList<string> Sites);

/// <param name="UnwritableIfDown">Partitions left without a connected majority when this node fails.</param>
internal sealed record PlacementNodeReport(string Node, string Site, int Replicas, int PreferredLeaders, int WritableIfDown, IReadOnlyList<int> UnwritableIfDown);

internal sealed record SiteSplitReport(IReadOnlyList<string> One, IReadOnlyList<string> Other, int Writable, IReadOnlyList<int> Unwritable);

/// <summary><c>braid count --json</c>.</summary>
/// <param name="Partial">--allow-partial left partitions out (<paramref name="MissingPartitions"/>, empty otherwise).</param>
internal sealed record CountReport(ulong Records, bool Partial, IReadOnlyList<uint> MissingPartitions);

/// <summary><c>braid stats --json</c>; <see cref="ByDay"/> is null without --by-day.</summary>
/// <param name="Partial">--allow-partial left partitions out (<paramref name="MissingPartitions"/>, empty otherwise).</param>
internal sealed record StatsReport(ulong Records, IReadOnlyList<AggregateRowReport> ByParameter, IReadOnlyList<AggregateRowReport>? ByDay, bool Partial, IReadOnlyList<uint> MissingPartitions);

/// <param name="AqiMin">Null (as min, max and mean) when no record of the row has an AQI.</param>
internal sealed record AggregateRowReport(string Key, ulong Count, ulong AqiCount, int? AqiMin, int? AqiMax, double? AqiMean);

/// <summary><c>braid sim --json</c>: the summary of a range of seeds, with each failed seed's violations and replay command.</summary>
internal sealed record SimReport(
    string Topology,
    int FirstSeed,
    int LastSeed,
    int Seeds,
    int Partitions,
    int Replicas,
    bool Faults,
    bool Queries,
    long RetainBytes,
    int Failed,
    IReadOnlyList<SimFailureReport> Failures,
    long Acked,
    long Retries,
    long Messages,
    long Compactions,
    long SnapshotsInstalled,
    long QueriesCompleted,
    long QueryPages,
    long QueriesTrimmed,
    double SimulatedSeconds,
    double WallSeconds,
    double SimulatedSecondsPerWallSecond,
    bool Membership = false,
    bool DiskFaults = false,
    long MembershipSteps = 0,
    long ConfigurationsCommitted = 0,
    long NodesDeclaredDead = 0);

internal sealed record SimFailureReport(int Seed, IReadOnlyList<string> Violations, string Replay);

/// <summary><c>braid bench ingest --json</c>: one run per cluster started (two per round with --compare-tls).</summary>
/// <param name="Ok">Every run's count check matched.</param>
internal sealed record IngestBenchReport(
    string Topology,
    string Hosts,
    int BatchRecords,
    int InflightPerPartition,
    int Passes,
    int WarmupBatches,
    long DataRecords,
    int DataBatches,
    long DataBytes,
    int TargetRecordsPerSecond,
    IReadOnlyList<IngestRunReport> Runs,
    IngestComparisonReport? Comparison,
    bool Ok)
{
    [JsonPropertyOrder(-1)]
    public string Benchmark => "ingest";
}

internal sealed record IngestRunReport(
    bool Tls,
    long Records,
    long Batches,
    long PayloadBytes,
    double ElapsedSeconds,
    double RecordsPerSecond,
    double MegabytesPerSecond,
    long Retries,
    long Duplicates,
    long Failovers,
    IReadOnlyList<NodeResourceReport> Nodes,
    double WorstPeakRssMb,
    bool CountsOk);

internal sealed record NodeResourceReport(string Node, double PeakRssMb, double? CpuSeconds);

internal sealed record IngestComparisonReport(int Rounds, IReadOnlyList<double> TlsRecordsPerSecond, IReadOnlyList<double> PlaintextRecordsPerSecond,
    double TlsMedian, double PlaintextMedian, double Ratio);

/// <summary><c>braid bench failover --json</c>.</summary>
/// <param name="Fault">kill (SIGKILL) or pause (SIGSTOP).</param>
/// <param name="TargetMedianMs">Null for pause (phi-bound, no target).</param>
internal sealed record FailoverBenchReport(
    string Topology,
    string Fault,
    IReadOnlyList<FailoverTrialReport> Trials,
    double MedianMs,
    double P90Ms,
    double WorstMs,
    double BestMs,
    double? TargetMedianMs,
    long WriterRetries)
{
    [JsonPropertyOrder(-1)]
    public string Benchmark => "failover";
}

internal sealed record FailoverTrialReport(int Trial, string Leader, double Ms);

/// <summary><c>braid bench reroute --json</c>.</summary>
internal sealed record RerouteBenchReport(string Fault, IReadOnlyList<double> TrialsMs, double MedianMs, double P90Ms, double MinMs, double MaxMs, double TargetMedianMs)
{
    [JsonPropertyOrder(-1)]
    public string Benchmark => "reroute";
}

/// <summary><c>braid bench idle --json</c>.</summary>
internal sealed record IdleBenchReport(string Topology, double SampledSeconds, int WarmupSeconds, IReadOnlyList<IdleNodeReport> Nodes,
    double WorstCpuPercent, double WorstRssMb, double TargetCpuPercent, double TargetRssMb)
{
    [JsonPropertyOrder(-1)]
    public string Benchmark => "idle";
}

internal sealed record IdleNodeReport(string Node, double CpuPercentOfCore, double RssMb, double PssMb);

/// <summary><c>braid bench produce --json</c>.</summary>
internal sealed record ProduceBenchReport(int Records, int ValueBytes, int CallsInFlight, double Seconds, double RecordsPerSecond, double AckP50Ms, double AckP99Ms)
{
    [JsonPropertyOrder(-1)]
    public string Benchmark => "produce";
}

/// <summary><c>braid bench subscribe --json</c>: delivery latency is from the producer's ack (commit) to the subscriber.</summary>
internal sealed record SubscribeBenchReport(int TargetRecordsPerSecond, double AchievedRecordsPerSecond, int Seconds, int Batches, int BatchesNotDelivered,
    double DeliveryP50Ms, double DeliveryP99Ms, double DeliveredBeforeAckPercent)
{
    [JsonPropertyOrder(-1)]
    public string Benchmark => "subscribe";
}
