using Braid.Core.Topology;

namespace Braid.Core.Placement;

/// <summary>
/// Decides which nodes hold each partition's replicas (issue 4, item 3). Pure and deterministic:
/// the same topology, partition count and replica count always give the same table, whatever
/// the order of nodes in the file.
/// </summary>
/// <remarks>
/// The graphs are small (at most ~16 nodes), so every R-subset of the nodes is scored
/// exhaustively, then partitions are filled greedily in partition order. A set's score, most
/// important first:
/// <list type="number">
/// <item>single-node failures after which its surviving replicas still hold a connected majority
/// (connectivity through any surviving node); on mini2 this rules out relying on both B and C, or
/// both E and F, since B and E are cut vertices;</item>
/// <item>no member already holding twice its even share of replicas;</item>
/// <item>site faults it survives, counted together: whole sites failing, and splits of the network
/// between sites after which one side keeps a majority that can reach each other without
/// crossing the split (on mini2, {D, C, F} survives neither: C and F are not connected inside
/// their site, C's only edge goes to B, and the split leaves D alone);</item>
/// <item>whole-site failures alone (between equals, spreading over sites wins);</item>
/// <item>not all replicas on one site (a site is one computer);</item>
/// <item>replica balance: the lowest current load among its busiest member, then the lowest total;</item>
/// <item>the fewest replicas on one site;</item>
/// <item>leader balance: it contains a node that leads few partitions so far;</item>
/// <item>overlay closeness: the fewest pairwise hops;</item>
/// <item>lexicographic order of node ids.</item>
/// </list>
/// The preferred leader of the chosen set is its member that leads the fewest partitions so far
/// (ties: the member closest to the others, then id); followers follow by hops from it, then id.
/// </remarks>
public static partial class PlacementPlanner
{
    /// <summary>Plans <paramref name="partitions"/> partitions of <paramref name="replicas"/> replicas on <paramref name="topology"/>.</summary>
    /// <exception cref="ArgumentException">partitions or replicas below 1, or more replicas than nodes.</exception>
    public static PlacementTable Plan(ClusterTopology topology, int partitions = 12, int replicas = 3)
    {
        ArgumentNullException.ThrowIfNull(topology);
        Validate(topology, partitions, replicas);
        var overlay = new OverlayAnalysis(topology);
        var quorum = replicas / 2 + 1;
        var candidates = CandidateSet.Enumerate(overlay, replicas, quorum);
        var load = new Load(overlay.NodeCount);
        // No node takes more than twice its even share of replicas for the sake of site faults
        // (on mini2-9 every partition would otherwise lean on G).
        var replicasCap = 2 * (int)Math.Ceiling((double)partitions * replicas / overlay.NodeCount);
        var placements = new List<PartitionPlacement>(partitions);
        for (var p = 0; p < partitions; p++)
        {
            var chosen = candidates.MinBy(c => Score(c, load, replicasCap));
            Invariant.Check(chosen is not null, "at least one candidate replica set exists");
            var ordered = OrderReplicas(chosen!.Members, overlay, load);
            load.Add(ordered);
            placements.Add(new PartitionPlacement(p, ordered.Select(i => overlay.Ids[i]).ToArray()));
        }
        return new PlacementTable(topology, overlay, replicas, placements);
    }

    private static void Validate(ClusterTopology topology, int partitions, int replicas)
    {
        if (partitions < 1) throw new ArgumentException($"partitions must be at least 1 (got {partitions})", nameof(partitions));
        if (replicas < 1) throw new ArgumentException($"replicas must be at least 1 (got {replicas})", nameof(replicas));
        if (replicas > topology.Nodes.Count)
        {
            throw new ArgumentException(
                $"replicas ({replicas}) cannot exceed the number of nodes ({topology.Nodes.Count} in topology '{topology.Name}')", nameof(replicas));
        }
    }

    /// <summary>Lower is better; tuple order is the priority order documented on the class.</summary>
    private static (int, int, int, int, int, int, int, int, int, int, int) Score(CandidateSet c, Load load, int replicasCap) => (
        -c.NodeFailuresSurvived,
        c.Members.Any(m => load.Replicas[m] >= replicasCap) ? 1 : 0,
        -(c.SiteFailuresSurvived + c.SiteSplitsSurvived),
        -c.SiteFailuresSurvived,
        c.OnOneSite ? 1 : 0,
        c.Members.Max(m => load.Replicas[m]),
        c.Members.Sum(m => load.Replicas[m]),
        c.MostOnOneSite,
        c.Members.Min(m => load.Leaders[m]),
        c.HopSum,
        c.Order);

    private static int[] OrderReplicas(int[] members, OverlayAnalysis overlay, Load load)
    {
        var leader = members
            .OrderBy(m => load.Leaders[m])
            .ThenBy(m => members.Sum(o => overlay.Hops(m, o)))
            .ThenBy(m => m)
            .First();
        var followers = members.Where(m => m != leader).OrderBy(m => overlay.Hops(leader, m)).ThenBy(m => m);
        return [leader, .. followers];
    }

    /// <summary>Replicas and preferred leaderships placed on each node so far.</summary>
    private sealed class Load(int nodes)
    {
        public int[] Replicas { get; } = new int[nodes];
        public int[] Leaders { get; } = new int[nodes];

        public void Add(int[] ordered)
        {
            Leaders[ordered[0]]++;
            foreach (var m in ordered) Replicas[m]++;
        }
    }
}
