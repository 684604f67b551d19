using System.Text.Json.Serialization;

namespace Braid.Cli.Json;

// The --json documents of bench log, query, catchup, fuzz, compare, rolling and rereplicate (the other
// benchmarks' are in Reports.cs and FileReports.cs). Names are an interface: docs/json.md.

/// <summary><c>braid bench log --json</c>: the plain write+fsync loop and the log's two runs over the same bytes.</summary>
/// <param name="Batches">Batches appended per run.</param>
/// <param name="BytesPerRun">Batches times <paramref name="BatchBytes"/>.</param>
/// <param name="TargetSingleAppenderRatio">The log with one appender should reach this share of the plain loop's MB/s.</param>
/// <param name="TargetGroupCommitRatio">Many appenders sharing fsyncs should reach this multiple of the plain loop's MB/s.</param>
internal sealed record LogBenchReport(
    int BatchBytes,
    int Batches,
    long BytesPerRun,
    int Appenders,
    IReadOnlyList<LogRunReport> Runs,
    double TargetSingleAppenderRatio,
    double TargetGroupCommitRatio)
{
    /// <summary>The benchmark's name, first in the document.</summary>
    [JsonPropertyOrder(-1)]
    public string Benchmark => "log";
}

/// <summary>One run of <c>bench log</c>.</summary>
/// <param name="Run">plain, single_appender or group_commit.</param>
/// <param name="Description">The run as the text table names it.</param>
/// <param name="BatchesPerFsync">Batches made durable by one fsync (1 for the plain loop).</param>
/// <param name="RatioToPlain">MB/s over the plain loop's MB/s.</param>
internal sealed record LogRunReport(string Run, string Description, long Bytes, long Fsyncs, double ElapsedSeconds, double MegabytesPerSecond,
    double FsyncsPerSecond, double BatchesPerFsync, double RatioToPlain);

/// <summary><c>braid bench query --json</c>.</summary>
/// <param name="ChunkRecords">Records per result chunk asked for (0: the server's default).</param>
/// <param name="Repeat">Runs of each query after the first; each query's figures are the median run's.</param>
/// <param name="CountsOk">The match-all query returned, and the aggregate counted, every record loaded.</param>
internal sealed record QueryBenchReport(
    string Topology,
    int Partitions,
    uint ChunkRecords,
    int Repeat,
    long RecordsLoaded,
    double LoadSeconds,
    IReadOnlyList<QueryRunReport> Queries,
    IReadOnlyList<NodeResourceReport> Nodes,
    double WorstPeakRssMb,
    double TargetScannedPerSecond,
    double TargetRssMb,
    bool CountsOk)
{
    /// <summary>The benchmark's name, first in the document.</summary>
    [JsonPropertyOrder(-1)]
    public string Benchmark => "query";
}

/// <summary>One query of <c>bench query</c>: the median run, with the fastest and slowest.</summary>
/// <param name="Scanned">Records the nodes scanned (the sum of the chunks' scanned counts).</param>
/// <param name="Returned">Records returned (for the aggregate: its rows).</param>
internal sealed record QueryRunReport(string Query, long Scanned, long Returned, double Seconds, double ScannedPerSecond, double ReturnedPerSecond,
    double FastestSeconds, double SlowestSeconds);

/// <summary><c>braid bench catchup --json</c>: one run from the leader's log, one through a snapshot.</summary>
/// <param name="Mib">MiB written while the follower was down.</param>
/// <param name="RetainMib">Log kept per replica in the snapshot run.</param>
internal sealed record CatchUpBenchReport(string Topology, int Mib, int RetainMib, IReadOnlyList<CatchUpRunReport> Runs)
{
    /// <summary>The benchmark's name, first in the document.</summary>
    [JsonPropertyOrder(-1)]
    public string Benchmark => "catchup";
}

/// <summary>One run of <c>bench catchup</c>.</summary>
/// <param name="Mode">log (retention off: every missed entry replayed) or snapshot.</param>
/// <param name="RetainBytes">0 in the log run.</param>
/// <param name="ServingMs">From the restart to the follower serving.</param>
/// <param name="CaughtUpMs">From serving to having applied <paramref name="AppliedIndex"/>, the leader's commit index after the writes.</param>
/// <param name="LogBytes">The follower's partition log on its disk afterwards.</param>
internal sealed record CatchUpRunReport(string Mode, long RetainBytes, string Follower, long WrittenBytes, double WriteSeconds, double ServingMs, double CaughtUpMs,
    ulong AppliedIndex, ulong SnapshotsInstalled, long LogBytes);

/// <summary><c>braid bench fuzz --json</c>.</summary>
/// <param name="Mode">mutate, random or both.</param>
/// <param name="CasesPerTarget">--cases (ignored when <paramref name="OnlyCase"/> is set).</param>
/// <param name="OnlyCase">--case: the one case replayed, or null.</param>
/// <param name="Failures">Failures over every target.</param>
internal sealed record FuzzBenchReport(int Seed, string Mode, long CasesPerTarget, long? OnlyCase, IReadOnlyList<FuzzTargetReport> Targets, long Failures)
{
    /// <summary>The benchmark's name, first in the document.</summary>
    [JsonPropertyOrder(-1)]
    public string Benchmark => "fuzz";
}

/// <summary>One target of <c>bench fuzz</c>.</summary>
/// <param name="Seeds">Valid inputs the mutations start from.</param>
/// <param name="TailCuts">Storage targets: opens that found entries missing at the end (tail cut or snapshot reset); null for the others.</param>
/// <param name="StoppedEarly">Why the target stopped before its cases (time limit, hang), or null.</param>
/// <param name="FailureCount">Every failure; <paramref name="Failures"/> lists the first of each kind.</param>
internal sealed record FuzzTargetReport(
    string Target,
    string Description,
    long Cases,
    double ElapsedSeconds,
    double CasesPerSecond,
    int Seeds,
    long Mutated,
    long Random,
    long Accepted,
    long AcceptedMutated,
    long AcceptedRandom,
    long? TailCuts,
    IReadOnlyList<FuzzRefusalReport> Refused,
    string? StoppedEarly,
    long FailureCount,
    IReadOnlyList<FuzzFailureReport> Failures);

/// <summary>Inputs a target refused, by reason, most frequent first.</summary>
internal sealed record FuzzRefusalReport(string Reason, long Count);

/// <param name="ReplayFrom">Stateful targets: the case replaying starts from (the last reset).</param>
/// <param name="Reproducer">The hex dump of the inputs under --out, or null.</param>
internal sealed record FuzzFailureReport(long Case, int Seed, long ReplayFrom, string Kind, string Detail, string? Reproducer);

/// <summary><c>braid bench compare --json</c>: every run of every row on both systems, and each row's medians.</summary>
/// <param name="NatsInflight">Unacknowledged publishes NATS had in flight (the batch rows).</param>
/// <param name="ProducerInflight">Unacknowledged records in flight on each system in the producer row ("single").</param>
/// <param name="ProducerPartitions">Partitions of the raw stream Braid's producer row writes.</param>
/// <param name="WarmupPasses">Untimed passes of each row's messages before the timed ones, on both systems.</param>
/// <param name="TargetRatio">Braid's median over NATS's should reach this.</param>
/// <param name="Ok">Every run stored exactly what was sent.</param>
internal sealed record CompareBenchReport(
    string Topology,
    int Rounds,
    int Partitions,
    int InflightPerPartition,
    int NatsInflight,
    int ProducerInflight,
    int ProducerPartitions,
    bool Tls,
    int Passes,
    int WarmupPasses,
    string NatsVersion,
    IReadOnlyList<CompareRowReport> Rows,
    IReadOnlyList<CompareRunReport> Runs,
    double TargetRatio,
    bool Ok)
{
    /// <summary>The benchmark's name, first in the document.</summary>
    [JsonPropertyOrder(-1)]
    public string Benchmark => "compare";
}

/// <summary>One row (workload) of <c>bench compare</c> and its medians.</summary>
/// <param name="Messages">Batches (Braid) or publishes (NATS) of the row.</param>
/// <param name="WarmupMessages">Sent before the clock starts, on both systems.</param>
/// <param name="Ratio">Braid's median over NATS's; null while either has no run (or NATS's median is 0).</param>
internal sealed record CompareRowReport(string Row, long Records, int Messages, long PayloadBytes, int WarmupMessages,
    IReadOnlyList<double> BraidRecordsPerSecond, IReadOnlyList<double> NatsRecordsPerSecond, double BraidMedian, double NatsMedian, double? Ratio);

/// <summary>One timed run of a row on one system.</summary>
/// <param name="System">braid or nats.</param>
/// <param name="Verified">The system stored exactly what was sent.</param>
internal sealed record CompareRunReport(int Round, string Row, string System, long Records, long Messages, long PayloadBytes, double ElapsedSeconds,
    double RecordsPerSecond, double MegabytesPerSecond, bool Verified);

/// <summary><c>braid bench rolling --json</c>.</summary>
/// <param name="LongestGapMs">The longest time without an acknowledgement while the restart ran.</param>
/// <param name="LongestGapAtSeconds">When that gap ended, in seconds from the restart's start.</param>
/// <param name="Acknowledgements">Gaps measured (acknowledgement samples while the restart ran).</param>
/// <param name="LongestGaps">The five longest gaps, longest first.</param>
/// <param name="ExactlyOnce">The stored count equals the records sent and acknowledged.</param>
internal sealed record RollingBenchReport(
    string Topology,
    int Partitions,
    int BatchRecords,
    int BatchesPerSecond,
    int NodesRestarted,
    int Graceful,
    double RestartSeconds,
    double LongestGapMs,
    double LongestGapAtSeconds,
    double P99GapMs,
    int Acknowledgements,
    double TargetLongestGapMs,
    long Retries,
    long Failovers,
    IReadOnlyList<RollingGapReport> LongestGaps,
    IReadOnlyList<RollingStepReport> Steps,
    long RecordsSent,
    long RecordsStored,
    bool ExactlyOnce)
{
    /// <summary>The benchmark's name, first in the document.</summary>
    [JsonPropertyOrder(-1)]
    public string Benchmark => "rolling";
}

/// <param name="EndingSeconds">When the gap ended, from the restart's start.</param>
internal sealed record RollingGapReport(double Ms, double EndingSeconds);

/// <summary>One node's restart; times in seconds from the restart's start.</summary>
internal sealed record RollingStepReport(string Node, bool Graceful, double SigtermSeconds, double ExitedSeconds, double ServingSeconds, double CaughtUpSeconds);

/// <summary><c>braid bench rereplicate --json</c>: a node lost for good (SIGKILL, data deleted) and its groups re-replicated, per data size.</summary>
/// <param name="Node">The node killed.</param>
/// <param name="DeadAfterSeconds">Each node's --dead-after.</param>
/// <param name="Runs">One per data size (a fresh cluster each), then the steady-ingest run if any.</param>
/// <param name="Ingest">The steady-ingest run's throughput figures, or null when there was none.</param>
/// <param name="Ok">Every run came back in place and its count was exact.</param>
internal sealed record RereplicateBenchReport(
    string Topology,
    int Partitions,
    int Replicas,
    string Node,
    double DeadAfterSeconds,
    int BatchRecords,
    IReadOnlyList<RereplicateRunReport> Runs,
    RereplicateIngestReport? Ingest,
    bool Ok)
{
    /// <summary>The benchmark's name, first in the document.</summary>
    [JsonPropertyOrder(-1)]
    public string Benchmark => "rereplicate";
}

/// <summary>One run of <c>bench rereplicate</c>; times in seconds from the kill.</summary>
/// <param name="Records">Records loaded before the kill.</param>
/// <param name="PayloadBytes">Their encoded batches.</param>
/// <param name="SteadyIngest">A second producer ingested through the loss (this run's figures then include catching up with it).</param>
/// <param name="GroupsHeld">Raft groups with a replica on the node (the metadata group included).</param>
/// <param name="RecordsHeld">Records acknowledged into the partitions it held before the kill.</param>
/// <param name="BytesHeld">Its replicas' folders on its disk at the kill: the data moved.</param>
/// <param name="BytesNewReplicas">The new replicas' folders on their disks once every group was in place.</param>
/// <param name="DeclaredDeadSeconds">Kill to the node's state "dead" in the catalog (null: never).</param>
/// <param name="InPlaceSeconds">Kill to every group in place at 3 voters without the node (null: not within the timeout).</param>
/// <param name="MovingSeconds"><paramref name="InPlaceSeconds"/> minus <paramref name="DeclaredDeadSeconds"/>.</param>
/// <param name="MegabytesPerSecond"><paramref name="BytesHeld"/> (MB, 2^20) over <paramref name="MovingSeconds"/>.</param>
/// <param name="NewReplicasMegabytesPerSecond"><paramref name="BytesNewReplicas"/> (MB) over <paramref name="MovingSeconds"/>: with a steady ingest
/// the new replicas also took what was written while they caught up.</param>
/// <param name="RecordsPerSecond"><paramref name="RecordsHeld"/> over <paramref name="MovingSeconds"/>.</param>
/// <param name="RecordsExpected">Every record loaded and acknowledged (the steady ingest's too).</param>
internal sealed record RereplicateRunReport(
    long Records,
    long PayloadBytes,
    double LoadSeconds,
    double LoadRecordsPerSecond,
    bool SteadyIngest,
    int GroupsHeld,
    long RecordsHeld,
    long BytesHeld,
    long BytesNewReplicas,
    double? DeclaredDeadSeconds,
    double? InPlaceSeconds,
    double? MovingSeconds,
    double? MegabytesPerSecond,
    double? NewReplicasMegabytesPerSecond,
    double? RecordsPerSecond,
    bool InPlace,
    IReadOnlyList<RereplicateGroupReport> Groups,
    long RecordsExpected,
    long RecordsStored,
    bool CountsOk);

/// <summary>One group the lost node held.</summary>
/// <param name="Group">"meta" or the partition number.</param>
/// <param name="NewReplicas">Its voters at the end that were not before the kill.</param>
/// <param name="Records">Records acknowledged into it before the kill (0 for meta).</param>
/// <param name="BytesHeld">The lost node's folder of it at the kill.</param>
/// <param name="BytesNewReplicas">The new replicas' folders of it at the end.</param>
/// <param name="InPlaceSeconds">Kill to the first poll that found it in place at 3 voters without the node (null: never).</param>
internal sealed record RereplicateGroupReport(string Group, IReadOnlyList<string> NewReplicas, long Records, long BytesHeld, long BytesNewReplicas, double? InPlaceSeconds);

/// <summary>The steady ingest of <c>bench rereplicate</c> (a second producer), before the kill and while the groups moved.</summary>
/// <param name="PacedRecordsPerSecond">--ingest-rate (0: as fast as the client's window allows).</param>
/// <param name="BeforeSeconds">The baseline: seconds of ingest before the kill.</param>
/// <param name="KillToDeadRecordsPerSecond">Records/s from the kill to declared dead (failover of the groups it led included).</param>
/// <param name="DuringSeconds">From declared dead to every group in place.</param>
/// <param name="DuringRecordsPerSecond">Records/s acknowledged in that window (null if it was empty).</param>
/// <param name="Ratio"><paramref name="DuringRecordsPerSecond"/> over <paramref name="BeforeRecordsPerSecond"/>.</param>
internal sealed record RereplicateIngestReport(
    int PacedRecordsPerSecond,
    double BeforeSeconds,
    double BeforeRecordsPerSecond,
    double KillToDeadRecordsPerSecond,
    double DuringSeconds,
    double? DuringRecordsPerSecond,
    double? Ratio,
    long RecordsSent,
    long RecordsAcked,
    long Retries,
    long Failovers);
