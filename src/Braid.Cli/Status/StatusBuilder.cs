using Braid.Protocol.V1;

namespace Braid.Cli.Status;

/// <summary>One node to ask, as the node list (local cluster file or a seed's Describe) gives it.</summary>
/// <param name="Process">Local clusters only: running, paused or dead.</param>
internal sealed record StatusTarget(string Id, string Address, string? Process = null);

/// <summary>What one node answered; a call that failed leaves its reply null and says why in <paramref name="Error"/>.</summary>
internal sealed record NodeAnswer(StatusReply? Status, DescribeReply? Describe, string? Error)
{
    public bool Answered => Status is not null || Describe is not null;
}

/// <summary>
/// Assembles the cluster's status from each node's own answers. Pure (no I/O, no clock), so the
/// choice of leader and the lag arithmetic are tested without a cluster.
/// </summary>
internal static class StatusBuilder
{
    public const string LeaderRole = "Leader";
    public const string FailedRole = "Failed";

    public static ClusterStatusReport Build(string source, DateTimeOffset takenAt, IReadOnlyList<StatusTarget> targets, IReadOnlyDictionary<string, NodeAnswer> answers)
    {
        var described = answers.Values.Where(a => a.Describe is not null).Select(a => a.Describe!).ToList();
        var sites = described.SelectMany(d => d.Nodes).GroupBy(n => n.Id, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Site, StringComparer.Ordinal);
        var nodes = targets.Select(t => Node(t, answers.GetValueOrDefault(t.Id), sites.GetValueOrDefault(t.Id))).ToList();

        // Placement is the same on every node: the replica list comes from whichever node answered first.
        var placements = new SortedDictionary<uint, IReadOnlyList<string>>();
        foreach (var d in described)
            foreach (var p in d.Partitions)
                placements.TryAdd(p.Partition, p.Replicas.ToList());
        var partitions = placements.Select(kv => Partition(kv.Key, kv.Value, OwnDescriptions(kv.Key, kv.Value, answers))).ToList();

        var alarms = Alarms(nodes, partitions);
        return new ClusterStatusReport(source, takenAt, alarms.Count == 0, nodes, partitions, alarms);
    }

    /// <summary>Each replica's description of the partition by its own node (nodes that did not answer are absent).</summary>
    private static Dictionary<string, PartitionDescription> OwnDescriptions(uint partition, IReadOnlyList<string> replicas, IReadOnlyDictionary<string, NodeAnswer> answers)
    {
        var own = new Dictionary<string, PartitionDescription>(StringComparer.Ordinal);
        foreach (var node in replicas)
            if (answers.GetValueOrDefault(node)?.Describe?.Partitions.FirstOrDefault(p => p.Partition == partition) is { } d)
                own[node] = d;
        return own;
    }

    private static NodeReport Node(StatusTarget target, NodeAnswer? answer, string? site)
    {
        var status = answer?.Status;
        var state = answer?.Answered == true ? NodeReport.Up : NodeReport.Down;
        var error = answer is null ? "not asked" : answer.Error;
        if (status is null)
            return new NodeReport(target.Id, target.Address, site, state, error, null, null, null, null, target.Process, [], [], []);
        var links = status.Neighbours.Select(n => new LinkReport(n.NodeId, n.Alive, n.Connected, double.IsFinite(n.Phi) ? Math.Round(n.Phi, 3) : null, n.Fault.Length > 0 ? n.Fault : null)).ToList();
        var routes = status.Routes.Select(r => new RouteReport(r.Destination, r.NextHop, r.Hops)).ToList();
        return new NodeReport(target.Id, target.Address, site, state, error, status.Incarnation, status.UptimeMs, status.ProcessId, status.Version, target.Process,
            links, routes, status.Unreachable.ToList());
    }

    /// <summary>
    /// One partition from its replicas' own descriptions. The leader is the replica that says it
    /// leads, at the highest term (a deposed leader that has not heard of the new term yet still
    /// says so, at a lower one); failing that, the leader the highest-term replica knows of. Lag is
    /// measured from the leader's own commit index when the leader answered, else from the highest
    /// commit index any replica reported (a follower's never exceeds its leader's).
    /// </summary>
    public static PartitionReport Partition(uint partition, IReadOnlyList<string> replicas, IReadOnlyDictionary<string, PartitionDescription> own)
    {
        var live = own.Where(kv => kv.Value.LocalRole is { Length: > 0 } role && role != FailedRole).ToList();
        var selfLeader = live.Where(kv => kv.Value.LocalRole == LeaderRole).OrderByDescending(kv => kv.Value.Term).Select(kv => kv.Key).FirstOrDefault();
        var term = live.Count == 0 ? 0 : live.Max(kv => kv.Value.Term);
        string? leader;
        ulong commit;
        if (selfLeader is not null)
        {
            leader = selfLeader;
            commit = own[selfLeader].CommitIndex;
        }
        else
        {
            leader = live.Where(kv => kv.Value.Leader.Length > 0).OrderByDescending(kv => kv.Value.Term).Select(kv => kv.Value.Leader).FirstOrDefault();
            commit = live.Count == 0 ? 0 : live.Max(kv => kv.Value.CommitIndex);
        }
        var rows = replicas.Select(r => Replica(r, own.GetValueOrDefault(r), commit)).ToList();
        var lags = rows.Where(r => r.Lag is not null).Select(r => r.Lag!.Value).ToList();
        return new PartitionReport(partition, leader, selfLeader is not null, term, commit, lags.Count == 0 ? null : lags.Max(), rows);
    }

    private static ReplicaReport Replica(string node, PartitionDescription? d, ulong commitIndex)
    {
        if (d is null) return new ReplicaReport(node, false, null, null, null, null, null, null, null, false);
        var noSpace = d.NoSpaceAlarm.Length > 0 ? d.NoSpaceAlarm : null;
        // A failed replica (or one not open yet) has no Raft state to report.
        if (d.LocalRole is not { Length: > 0 } role || role == FailedRole)
            return new ReplicaReport(node, true, d.LocalRole.Length > 0 ? d.LocalRole : null, null, null, null, null, null, noSpace, d.Recovering);
        return new ReplicaReport(node, true, role, d.Term, d.CommitIndex, d.AppliedIndex, Lag(commitIndex, d.AppliedIndex), d.RecordCount, noSpace, d.Recovering);
    }

    /// <summary>How many committed entries a replica has still to apply; 0 when it is at or past the reference.</summary>
    public static ulong Lag(ulong commitIndex, ulong appliedIndex) => appliedIndex >= commitIndex ? 0 : commitIndex - appliedIndex;

    public static IReadOnlyList<AlarmReport> Alarms(IReadOnlyList<NodeReport> nodes, IReadOnlyList<PartitionReport> partitions)
    {
        var alarms = new List<AlarmReport>();
        foreach (var n in nodes.Where(n => n.State == NodeReport.Down))
            alarms.Add(new AlarmReport(AlarmReport.Unreachable, n.Id, null, n.Error ?? "no answer"));
        foreach (var p in partitions)
        {
            if (p.Leader is null)
                alarms.Add(new AlarmReport(AlarmReport.NoLeader, null, p.Partition, "no replica that answered knows a leader"));
            foreach (var r in p.Replicas)
            {
                if (r.NoSpaceAlarm is { } reason)
                    alarms.Add(new AlarmReport(AlarmReport.NoSpace, r.Node, p.Partition, reason + "; writes refused until space returns"));
                if (r.Recovering)
                    alarms.Add(new AlarmReport(AlarmReport.Recovering, r.Node, p.Partition, "lost persisted state; rejoins without a vote until caught up"));
                if (r.Role == FailedRole)
                    alarms.Add(new AlarmReport(AlarmReport.Failed, r.Node, p.Partition, "the replica failed and serves nothing (the node's log says why)"));
            }
        }
        return alarms;
    }
}
