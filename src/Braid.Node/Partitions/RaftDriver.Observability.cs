using Braid.Core.Raft;

namespace Braid.Node.Partitions;

/// <summary>What the partition loop tells the outside about itself (issue 14, items 1 and 2): the
/// end of replay at start, the samples that gauges and health read, leader changes.</summary>
internal sealed partial class RaftDriver
{
    /// <summary>
    /// Replay at start (issue 14, item 2): each replica applies the log it holds (the dedup table
    /// and record positions are rebuilt from it, a ready at a time). The hard state records the
    /// commit index only with a new term or vote, so entries past it wait for a leader to confirm them (or
    /// replace them: then the log is shorter than it was). That wait is bounded by
    /// <see cref="ReplayConfirmWait"/>; applying what is known committed is not.
    /// </summary>
    /// <param name="Targets">Each replica's last log index when it opened.</param>
    private sealed record Replay(Dictionary<uint, ulong> Targets, long StartedAt, long OpenedAt);

    private static readonly TimeSpan ReplayConfirmWait = TimeSpan.FromSeconds(10);

    /// <summary>Null once replay has ended.</summary>
    private Replay? replay;

    private void CheckReplayEnded()
    {
        if (replay is null) return;
        // A replica that failed meanwhile is not waited for: it reopens on its own schedule.
        var behind = replay.Targets
            .Where(t => replicas.TryGetValue(t.Key, out var r) && r.State.AppliedIndex < Math.Min(t.Value, r.Raft.LastIndex))
            .Select(t => t.Key).ToList();
        if (behind.Count > 0)
        {
            var applying = behind.Any(p => replicas[p].State.AppliedIndex < replicas[p].Raft.CommitIndex);
            if (applying || System.Diagnostics.Stopwatch.GetElapsedTime(replay.OpenedAt) < ReplayConfirmWait) return;
            Log.ReplayUnconfirmed(logger, string.Join(",", behind), ReplayConfirmWait.TotalSeconds);
        }
        var applied = replicas.Values.Aggregate(0UL, (sum, r) => sum + r.State.AppliedIndex);
        Log.ReplayEnded(logger, replay.Targets.Count, applied, System.Diagnostics.Stopwatch.GetElapsedTime(replay.StartedAt).TotalMilliseconds);
        replay = null;
        nodeHealth.ReplayEnded();
    }

    /// <summary>Hands the gauges and the health rule a copy of what they read (the replicas are
    /// this loop's alone); once a tick, so its cost does not grow with the load.</summary>
    private void Publish()
    {
        var running = new List<Metrics.PartitionSample>(replicas.Count);
        foreach (var (partition, r) in replicas)
        {
            var raft = r.Raft;
            var leads = raft.Role == RaftRole.Leader;
            var lags = leads
                ? raft.Voters.Where(v => v != raft.Id).Select(v => (v, raft.LastIndex - Math.Min(raft.LastIndex, raft.MatchOf(v)))).ToList()
                : [];
            running.Add(new Metrics.PartitionSample(partition, raft.Term, raft.Leader, leads, raft.CommitIndex, r.State.AppliedIndex,
                raft.LastIndex, raft.LogBytes, r.State.RecordCount, r.NoSpaceAlarm, lags));
        }
        samples.Partitions = new Metrics.PartitionsSample(running, partitions.FailedCount);
    }

    /// <summary>The last leader each replica reported, null for none (for the leader-changes counter; loop-owned).</summary>
    private readonly Dictionary<uint, string?> lastLeaders = [];

    /// <summary>As etcd's leader_changes_seen: a leader known again after none, or another one, counts.</summary>
    private void NoteLeader(uint partition, string? leader)
    {
        if (lastLeaders.GetValueOrDefault(partition) == leader) return;
        lastLeaders[partition] = leader;
        if (leader is not null) metrics.LeaderChanged(partition);
    }
}
