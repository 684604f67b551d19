using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Braid.Node.Metrics;

/// <summary>The "Braid.Raft" meter: per-partition Raft state as gauges read from the partition
/// loop's last sample, and the events the loop reports (leader changes, snapshots, append latency).</summary>
internal sealed class RaftMetrics
{
    private readonly Counter<long> leaderChanges;
    private readonly Counter<long> snapshotsTaken;
    private readonly Counter<long> snapshotsInstalled;
    private readonly Histogram<double> appendDuration;

    public RaftMetrics(IMeterFactory factory, NodeMeters meters, NodeSamples samples)
    {
        var meter = meters.Create(factory, BraidMeters.Raft);
        IEnumerable<Measurement<long>> PerPartition(Func<PartitionSample, long> value) =>
            samples.Partitions.Running.Select(p => new Measurement<long>(value(p), BraidMeters.Partition(p.Partition)));
        meter.CreateObservableGauge("braid.raft.term", () => PerPartition(p => (long)p.Term), "{term}",
            "Current Raft term of this node's replica");
        meter.CreateObservableGauge("braid.raft.leader", () => PerPartition(p => p.IsLeader ? 1 : 0), "{leader}",
            "1 when this node leads the partition, else 0");
        meter.CreateObservableGauge("braid.raft.commit_index", () => PerPartition(p => (long)p.CommitIndex), "{entry}",
            "Highest log index known committed");
        meter.CreateObservableGauge("braid.raft.applied_index", () => PerPartition(p => (long)p.AppliedIndex), "{entry}",
            "Highest log index applied to the partition state");
        meter.CreateObservableGauge("braid.raft.last_index", () => PerPartition(p => (long)p.LastIndex), "{entry}",
            "Last index of this replica's log");
        meter.CreateObservableGauge("braid.raft.follower.lag", FollowerLags, "{entry}",
            "On the leader: entries a follower is behind the leader's last index");
        meter.CreateObservableGauge("braid.raft.partitions.failed", () => samples.Partitions.Failed, "{partition}",
            "Replicas of this node that failed and wait to reopen (alarm when above 0)");
        leaderChanges = meter.CreateCounter<long>("braid.raft.leader.changes", "{change}",
            "Times this replica saw a new leader (another node, or itself)");
        snapshotsTaken = meter.CreateCounter<long>("braid.raft.snapshots.taken", "{snapshot}",
            "Compactions: snapshots of the partition state written and the log trimmed behind them");
        snapshotsInstalled = meter.CreateCounter<long>("braid.raft.snapshots.installed", "{snapshot}",
            "Snapshots installed from the leader (a follower behind the leader's retained log)");
        appendDuration = meter.CreateHistogram("braid.raft.append.duration", "s",
            "On the leader: from a client batch's proposal to its acknowledgement (committed on a majority, applied)",
            advice: BraidMeters.SecondsAdvice);

        IEnumerable<Measurement<long>> FollowerLags() =>
            samples.Partitions.Running.SelectMany(p => p.Lags.Select(l => new Measurement<long>((long)l.Lag,
                BraidMeters.Partition(p.Partition), new KeyValuePair<string, object?>("follower", l.Follower))));
    }

    public void LeaderChanged(uint partition) => leaderChanges.Add(1, BraidMeters.Partition(partition));

    public void SnapshotTaken(uint partition) => snapshotsTaken.Add(1, BraidMeters.Partition(partition));

    public void SnapshotInstalled(uint partition) => snapshotsInstalled.Add(1, BraidMeters.Partition(partition));

    /// <summary>An append acknowledged Ok that was proposed at <paramref name="proposedTimestamp"/> (<see cref="Stopwatch"/> ticks).</summary>
    public void AppendAcknowledged(long proposedTimestamp) =>
        appendDuration.Record(Stopwatch.GetElapsedTime(proposedTimestamp).TotalSeconds);
}
