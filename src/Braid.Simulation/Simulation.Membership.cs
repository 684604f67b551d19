using Braid.Core.Raft;

namespace Braid.Simulation;

/// <summary>
/// Membership changes under faults (issue 12, item 6). A controller stands in for the metadata
/// group: it sets each group's target replicas (replace one, add one, remove one), and replaces
/// every replica of a node down longer than <see cref="SimOptions.DeadAfter"/> (automatic
/// re-replication). The rest is what the node host does with the core: each tick a replica takes
/// its group's target (<see cref="Core.Streams.PartitionReplica.SetPlacement"/>) and a leader takes
/// the next step towards it (<see cref="Core.Streams.PartitionReplica.ReconcileMembership"/>); a
/// node opens a replica for a group placed on it (joining, on an empty disk), and drops one the
/// target left once the group committed its removal. A node back from the dead reopens the
/// replicas it still holds: until the leader removes it, it is a member its group may need for a
/// majority (dropping them at once would turn its outage into a permanent loss); it is never
/// given anything new on its old standing.
/// </summary>
public sealed partial class Simulation
{
    private readonly Dictionary<uint, string[]> targets = [];
    private readonly Dictionary<string, long> downSince = new(StringComparer.Ordinal);

    /// <summary>Membership steps leaders took (learners added, promotions, removals, transfers).</summary>
    public long MembershipSteps { get; private set; }

    /// <summary>Nodes whose replicas were all moved because they stayed down too long.</summary>
    public long NodesDeclaredDead { get; private set; }

    /// <summary>The nodes holding a replica of <paramref name="group"/> now (running or not).</summary>
    internal IEnumerable<string> Holders(uint group) =>
        Nodes.Values.Where(n => n.Replicas.ContainsKey(group)).Select(n => n.Id).Order(StringComparer.Ordinal);

    /// <summary>The group's target replicas (what the controller last decided).</summary>
    public IReadOnlyList<string> TargetOf(uint group) => targets[group];

    private void ScheduleMembership()
    {
        var at = TimeSpan.Zero;
        while (true)
        {
            at += TimeSpan.FromMicroseconds(random.NextDouble() * 2 * Options.FaultEvery.TotalMicroseconds * 2);
            if (at >= Options.FaultPhase) break;
            Schedule(at, ChangeMembership);
        }
    }

    private void ChangeMembership()
    {
        if (healed) return;
        DeclareDead();
        var group = (uint)random.Next(Groups.Count);
        var target = targets[group];
        var eligible = Nodes.Keys.Where(id => !IsDead(id)).Order(StringComparer.Ordinal).ToArray();
        var outside = eligible.Where(id => !target.Contains(id)).ToArray();
        var choice = random.Next(4);
        string[] next;
        if (choice == 0 && outside.Length > 0 && target.Length < Options.Replicas + 2)
            next = [.. target, outside[random.Next(outside.Length)]];
        else if (choice == 1 && target.Length > Options.Replicas)
            next = target.Where((_, i) => i != random.Next(target.Length)).ToArray();
        else if (outside.Length > 0)
        {
            var gone = target[random.Next(target.Length)];
            var comes = outside[random.Next(outside.Length)];
            next = target.Select(id => id == gone ? comes : id).ToArray();
        }
        else return;
        if (next.Length == 0) return;
        SetTarget(group, next, "operator");
    }

    /// <summary>The dead-after rule: a node down at least <see cref="SimOptions.DeadAfter"/> loses
    /// every replica to a live node outside the group (if one exists).</summary>
    private void DeclareDead()
    {
        foreach (var node in Nodes.Values.OrderBy(n => n.Id, StringComparer.Ordinal))
        {
            if (node.Up) downSince.Remove(node.Id);
            else downSince.TryAdd(node.Id, Now);
        }
        foreach (var id in Nodes.Keys.Where(IsDead).Order(StringComparer.Ordinal))
        {
            var moved = false;
            foreach (var group in targets.Keys.Order().ToList())
            {
                var target = targets[group];
                if (!target.Contains(id)) continue;
                var candidates = Nodes.Values.Where(n => n.Up && !target.Contains(n.Id)).Select(n => n.Id).Order(StringComparer.Ordinal).ToArray();
                if (candidates.Length == 0) continue;
                var comes = candidates[random.Next(candidates.Length)];
                SetTarget(group, target.Select(t => t == id ? comes : t).ToArray(), $"{id} dead");
                moved = true;
            }
            if (moved) NodesDeclaredDead++;
        }
    }

    private bool IsDead(string id) => downSince.TryGetValue(id, out var since) && Now - since >= (long)Options.DeadAfter.TotalMicroseconds;

    private void SetTarget(uint group, string[] next, string why)
    {
        targets[group] = next;
        Record($"g{group} target {string.Join(",", next)} ({why})");
        foreach (var node in Nodes.Values.Where(n => n.Up && next.Contains(n.Id))) OpenPlacedReplicas(node);
    }

    /// <summary>A replica the target left that is not a voter and has heard no leader this long is
    /// closed (a learner removed while its node was down never hears of it, a replica opened for a
    /// target that changed before the leader added it hears nobody): 2 s of ticks. A non-voter
    /// counts in no majority, so closing it never costs the group anything.</summary>
    internal const long UnplacedLearnerTicks = 40;

    /// <summary>A leader's step towards the target, as the node host takes it every few ticks.</summary>
    private void FollowPlacement(SimNode node, SimReplica sim)
    {
        var replica = sim.Replica!;
        var target = targets[sim.Group];
        if (!target.Contains(node.Id) && (replica.Raft.Removed || !replica.Raft.IsVoter && replica.Raft.TicksWithoutLeader > UnplacedLearnerTicks))
        {
            // The target left this node and the group committed its removal: the host closes it.
            Drop(node, sim, "removed");
            return;
        }
        // A leader the target left still leads the move: it adds and promotes the newcomers, then
        // hands leadership to one of them before it is removed.
        replica.SetPlacement(target);
        MembershipStep? step = null;
        Guard(() => step = replica.ReconcileMembership());
        if (step is null) return;
        MembershipSteps++;
        Record($"{node.Id}/g{sim.Group} {step.Action} {step.Node}{(step.Next is null ? "" : $" -> {step.Next}")}");
    }

    /// <summary>Opens (joining, on an empty disk) the replicas of groups placed on a running node.</summary>
    private void OpenPlacedReplicas(SimNode node)
    {
        if (!node.Up) return;
        foreach (var (group, target) in targets.OrderBy(t => t.Key))
        {
            if (!target.Contains(node.Id) || node.Replicas.ContainsKey(group)) continue;
            var sim = new SimReplica(group, Groups[(int)group], new SimulatedDevice(random.Next()), joining: true) { Placement = target };
            node.Replicas[group] = sim;
            Guard(() => sim.Start(node.Id, new Random(random.Next()), raftOptions, Options));
            Record($"{node.Id}/g{group} opens (joining)");
        }
    }


    private void Drop(SimNode node, SimReplica sim, string why)
    {
        sim.Stop();
        node.Replicas.Remove(sim.Group);
        node.FlushDue.Remove(sim.Group);
        Record($"{node.Id}/g{sim.Group} closed ({why})");
    }

    /// <summary>After healing and catching up: every group's leader has the target as its voters,
    /// with the configuration committed (R restored without an operator).</summary>
    private void CheckMembershipConverged()
    {
        foreach (var (group, target) in targets.OrderBy(t => t.Key))
        {
            var leader = Holders(group).Select(id => Nodes[id].Replicas[group].Replica).FirstOrDefault(r => r?.Raft.Role == RaftRole.Leader);
            if (leader is null)
            {
                Checker.Violation($"membership: group {group} has no leader after healing");
                continue;
            }
            var config = leader.Raft.Configuration;
            if (!config.Voters.Order(StringComparer.Ordinal).SequenceEqual(target.Order(StringComparer.Ordinal)) || config.Learners.Count > 0 || !leader.Raft.ConfigurationCommitted)
                Checker.Violation($"membership: group {group} has {config} (committed: {leader.Raft.ConfigurationCommitted}), target {string.Join(",", target)}");
        }
    }
}
