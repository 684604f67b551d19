using Braid.Core.Topology;

namespace Braid.Core.Placement;

/// <summary>
/// Moving replicas (issue 12): new homes for the replicas of nodes that can no longer hold them
/// (dead or removed), and moves that even out the load after a node joins. Same rules as the first
/// placement (<see cref="Score"/>), scored on the graph of the nodes that may hold replicas, with
/// the survivors of each group kept in place: a move costs a copy of the partition, so only what
/// must move moves. Pure and deterministic: groups are visited in ascending order.
/// </summary>
public static partial class PlacementPlanner
{
    /// <summary>
    /// For each group in <paramref name="groups"/> with a member <paramref name="mustLeave"/>
    /// selects (dead, removed), the replicas it should have instead: its other members in their
    /// order (so the preferred leader stays when it can), then the best nodes
    /// <paramref name="mayTake"/> accepts (up and reachable) to bring it back to its size. Groups
    /// that need no change are left out; a group keeps fewer replicas when too few nodes may take one.
    /// </summary>
    public static IReadOnlyDictionary<uint, string[]> Replace(ClusterTopology topology, IReadOnlyDictionary<uint, IReadOnlyList<string>> groups, Func<string, bool> mustLeave, Func<string, bool> mayTake)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(mustLeave);
        ArgumentNullException.ThrowIfNull(mayTake);
        var staying = topology.Subgraph(n => !mustLeave(n));
        var result = new Dictionary<uint, string[]>();
        if (staying.Nodes.Count == 0) return result;
        var overlay = new OverlayAnalysis(staying);
        var load = LoadOf(overlay, groups, n => !mustLeave(n));
        foreach (var (group, replicas) in groups.OrderBy(g => g.Key))
        {
            if (!replicas.Any(mustLeave)) continue;
            var survivors = replicas.Where(r => !mustLeave(r) && staying.Contains(r)).ToArray();
            var kept = survivors.Select(overlay.IndexOf).ToHashSet();
            var takers = Enumerable.Range(0, overlay.NodeCount).Count(i => !kept.Contains(i) && mayTake(overlay.Ids[i]));
            var size = Math.Min(replicas.Count, kept.Count + takers);
            var best = size <= kept.Count ? null : CandidateSet.Enumerate(overlay, size, size / 2 + 1)
                .Where(c => kept.IsSubsetOf(c.Members) && c.Members.All(m => kept.Contains(m) || mayTake(overlay.Ids[m])))
                .MinBy(c => Score(c, load, int.MaxValue));
            var added = best is null ? [] : best.Members.Where(m => !kept.Contains(m)).OrderBy(m => load.Replicas[m]).ThenBy(m => m).ToArray();
            foreach (var m in added) load.Replicas[m]++;
            var next = survivors.Concat(added.Select(m => overlay.Ids[m])).ToArray();
            if (next.Length > 0) result[group] = next;
        }
        return result;
    }

    /// <summary>
    /// Moves that even out replicas over the eligible nodes (a node just added holds none): while
    /// the busiest node holds at least two more than the idlest, one replica of a group on the
    /// busiest moves to the idlest, provided the group then survives as many single-node failures
    /// with a connected majority as before. At most <paramref name="movesMax"/> moves. Returns
    /// the changed groups' new replicas (a moved preferred leader's place goes to the newcomer).
    /// </summary>
    public static IReadOnlyDictionary<uint, string[]> Rebalance(ClusterTopology topology, IReadOnlyDictionary<uint, IReadOnlyList<string>> groups, Func<string, bool> eligible, int movesMax = 64)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(eligible);
        var live = topology.Subgraph(eligible);
        var result = new Dictionary<uint, string[]>();
        if (live.Nodes.Count < 2) return result;
        var overlay = new OverlayAnalysis(live);
        var current = groups.Where(g => g.Value.All(r => live.Contains(r))).ToDictionary(g => g.Key, g => g.Value.ToArray());
        for (var moves = 0; moves < movesMax; moves++)
        {
            var load = LoadOf(overlay, current.ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Value), eligible);
            var order = Enumerable.Range(0, overlay.NodeCount).OrderBy(i => load.Replicas[i]).ThenBy(i => i).ToArray();
            var idlest = order[0];
            var moved = false;
            foreach (var busiest in order.Reverse())
            {
                if (load.Replicas[busiest] - load.Replicas[idlest] < 2) break;
                var from = overlay.Ids[busiest];
                var to = overlay.Ids[idlest];
                foreach (var (group, replicas) in current.OrderBy(g => g.Key))
                {
                    // One move per group per plan: each costs a copy of the partition.
                    if (result.ContainsKey(group) || !replicas.Contains(from) || replicas.Contains(to)) continue;
                    var next = replicas.Select(r => r == from ? to : r).ToArray();
                    if (Survived(overlay, next) < Survived(overlay, replicas)) continue;
                    current[group] = next;
                    result[group] = next;
                    moved = true;
                    break;
                }
                if (moved) break;
            }
            if (!moved) break;
        }
        return result;
    }

    private static int Survived(OverlayAnalysis overlay, string[] replicas)
    {
        var members = replicas.Select(overlay.IndexOf).ToArray();
        var quorum = members.Length / 2 + 1;
        return Enumerable.Range(0, overlay.NodeCount).Count(f => OverlayAnalysis.HasConnectedQuorum(members, overlay.ComponentsAfterNodeFailure(f), quorum));
    }

    private static Load LoadOf(OverlayAnalysis overlay, IReadOnlyDictionary<uint, IReadOnlyList<string>> groups, Func<string, bool> eligible)
    {
        var load = new Load(overlay.NodeCount);
        var index = overlay.Ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
        foreach (var replicas in groups.Values)
        {
            var live = replicas.Where(r => eligible(r) && index.ContainsKey(r)).Select(r => index[r]).ToArray();
            if (live.Length == 0) continue;
            if (eligible(replicas[0]) && index.ContainsKey(replicas[0])) load.Leaders[index[replicas[0]]]++;
            foreach (var m in live) load.Replicas[m]++;
        }
        return load;
    }
}
