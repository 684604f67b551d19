using Braid.Core.Topology;

namespace Braid.Core.Placement;

/// <summary>
/// Graph facts placement needs, computed once per topology: nodes numbered in ordinal id order
/// (so nothing depends on file or dictionary order), hop distances, and which nodes can still
/// reach each other after one node or one whole site fails.
/// </summary>
/// <remarks>
/// Connectivity after a failure counts paths through every surviving node, not only through
/// replicas: Raft messages between replicas travel over the overlay, so a relay that holds no
/// replica still carries a quorum's traffic (DESIGN.md, parts 4 and 5).
/// </remarks>
internal sealed class OverlayAnalysis
{
    private readonly int[][] adjacency;
    private readonly int[][] hops;
    private readonly int[][] componentsAfterNodeFailure;

    public OverlayAnalysis(ClusterTopology topology)
    {
        Ids = topology.NodeIds.Order(StringComparer.Ordinal).ToArray();
        var index = Ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i, StringComparer.Ordinal);
        adjacency = Ids.Select(id => topology.NeighboursOf(id).Select(n => index[n]).Order().ToArray()).ToArray();
        Sites = Ids.Select(id => topology.Node(id).Site).ToArray();
        SiteNames = Sites.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        SiteOf = Sites.Select(s => Array.IndexOf(SiteNames, s)).ToArray();
        hops = Enumerable.Range(0, Ids.Length).Select(Distances).ToArray();
        componentsAfterNodeFailure = Enumerable.Range(0, Ids.Length).Select(f => Components(v => v == f)).ToArray();
        ComponentsAfterSiteFailure = Enumerable.Range(0, SiteNames.Length)
            .Select(s => Components(v => SiteOf[v] == s)).ToArray();
        SiteSplits = EnumerateSiteSplits(SiteNames.Length);
        ComponentsAfterSiteSplit = SiteSplits.Select(side => Components(_ => false, (a, b) => Side(side, a) != Side(side, b))).ToArray();
    }

    /// <summary>Sites beyond which splits are not enumerated (2^(n-1)-1 splits).</summary>
    public const int SplitSitesMax = 8;

    /// <summary>
    /// Every way to cut the sites in two (each split once: a bit mask of the sites on one side,
    /// the last site always on the other): what a network partition between computers does.
    /// Empty with one site, or more than <see cref="SplitSitesMax"/>.
    /// </summary>
    public int[] SiteSplits { get; }

    /// <summary>For each split in <see cref="SiteSplits"/>, the component labels of the graph with
    /// every edge between the two sides cut (no node removed).</summary>
    public int[][] ComponentsAfterSiteSplit { get; }

    /// <summary>The sites on each side of a split, for reports.</summary>
    public (string[] One, string[] Other) SidesOf(int split) =>
        (SiteNames.Where((_, i) => (split >> i & 1) == 1).ToArray(), SiteNames.Where((_, i) => (split >> i & 1) == 0).ToArray());

    private bool Side(int split, int node) => (split >> SiteOf[node] & 1) == 1;

    private static int[] EnumerateSiteSplits(int sites) =>
        sites < 2 || sites > SplitSitesMax ? [] : Enumerable.Range(1, (1 << (sites - 1)) - 1).ToArray();

    /// <summary>Node ids in ordinal order; a node's position here is its index everywhere else.</summary>
    public string[] Ids { get; }

    /// <summary>Site of each node, by index.</summary>
    public string[] Sites { get; }

    /// <summary>Distinct site names in ordinal order.</summary>
    public string[] SiteNames { get; }

    /// <summary>Index into <see cref="SiteNames"/> of each node's site.</summary>
    public int[] SiteOf { get; }

    /// <summary>For each site s, the component labels of the graph with all of s's nodes removed.</summary>
    public int[][] ComponentsAfterSiteFailure { get; }

    public int NodeCount => Ids.Length;

    public int IndexOf(string id)
    {
        var i = Array.BinarySearch(Ids, id, StringComparer.Ordinal);
        if (i < 0) throw new ArgumentException($"unknown node '{id}' (nodes: {string.Join(", ", Ids)})", nameof(id));
        return i;
    }

    public int Hops(int a, int b) => hops[a][b];

    /// <summary>Component labels of the graph minus node <paramref name="failed"/> (-1 for removed nodes).</summary>
    public int[] ComponentsAfterNodeFailure(int failed) => componentsAfterNodeFailure[failed];

    /// <summary>
    /// True when the members that survive (label ≥ 0) include <paramref name="quorum"/> that lie in
    /// one component, i.e. a majority that can still exchange messages and elect a leader.
    /// </summary>
    public static bool HasConnectedQuorum(IReadOnlyList<int> members, int[] components, int quorum)
    {
        Span<int> counts = stackalloc int[members.Count];
        Span<int> labels = stackalloc int[members.Count];
        var used = 0;
        foreach (var m in members)
        {
            var label = components[m];
            if (label < 0) continue;
            var slot = labels[..used].IndexOf(label);
            if (slot < 0) { slot = used++; labels[slot] = label; counts[slot] = 0; }
            if (++counts[slot] >= quorum) return true;
        }
        return false;
    }

    private int[] Distances(int source)
    {
        var distance = Enumerable.Repeat(int.MaxValue, Ids.Length).ToArray();
        distance[source] = 0;
        var queue = new Queue<int>([source]);
        while (queue.TryDequeue(out var v))
        {
            foreach (var w in adjacency[v])
            {
                if (distance[w] != int.MaxValue) continue;
                distance[w] = distance[v] + 1;
                queue.Enqueue(w);
            }
        }
        return distance;
    }

    private int[] Components(Func<int, bool> removed, Func<int, int, bool>? edgeCut = null)
    {
        var label = Enumerable.Repeat(int.MinValue, Ids.Length).ToArray();
        for (var v = 0; v < Ids.Length; v++) if (removed(v)) label[v] = -1;
        var next = 0;
        for (var start = 0; start < Ids.Length; start++)
        {
            if (label[start] != int.MinValue) continue;
            Flood(start, next++, label, edgeCut);
        }
        return label;
    }

    private void Flood(int start, int component, int[] label, Func<int, int, bool>? edgeCut)
    {
        label[start] = component;
        var stack = new Stack<int>([start]);
        while (stack.TryPop(out var v))
        {
            foreach (var w in adjacency[v])
            {
                if (label[w] != int.MinValue || (edgeCut is not null && edgeCut(v, w))) continue;
                label[w] = component;
                stack.Push(w);
            }
        }
    }
}
