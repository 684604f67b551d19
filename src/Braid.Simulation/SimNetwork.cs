using Braid.Core.Topology;

namespace Braid.Simulation;

/// <summary>
/// The simulated overlay: which nodes are up, which links are cut (both ways or one way), and
/// whether a message from one node can reach another right now. Messages travel only along
/// overlay edges, through live nodes, exactly as the node host's link-state routing would carry
/// them once converged (routing convergence itself is tested separately, on the real overlay core).
/// </summary>
public sealed class SimNetwork
{
    private readonly ClusterTopology topology;
    private readonly HashSet<string> down = new(StringComparer.Ordinal);
    private readonly HashSet<(string From, string To)> cut = [];

    // Shortest live paths, computed once per state of the network (a BFS per message was a fifth
    // of the simulator's time); any change of nodes up or links cut forgets them.
    private readonly Dictionary<(string From, string To), int> hops = [];

    private void Changed() => hops.Clear();

    public SimNetwork(ClusterTopology topology) => this.topology = topology;

    public ClusterTopology Topology => topology;
    public IReadOnlySet<string> Down => down;
    public bool IsUp(string node) => !down.Contains(node);

    public void SetUp(string node, bool up)
    {
        if (up ? down.Remove(node) : down.Add(node)) Changed();
    }

    /// <summary>Cuts the link a→b in one direction (a one-way fault).</summary>
    public void CutOneWay(string from, string to)
    {
        if (cut.Add((from, to))) Changed();
    }

    public void Cut(string a, string b)
    {
        cut.Add((a, b));
        cut.Add((b, a));
        Changed();
    }

    /// <summary>Cuts every edge between the two sides (a network partition).</summary>
    public void Partition(IReadOnlySet<string> side, bool oneWay)
    {
        foreach (var (a, b) in topology.Edges)
        {
            if (side.Contains(a) == side.Contains(b)) continue;
            var (inside, outside) = side.Contains(a) ? (a, b) : (b, a);
            cut.Add((inside, outside));
            if (!oneWay) cut.Add((outside, inside));
        }
        Changed();
    }

    public void HealLinks()
    {
        cut.Clear();
        Changed();
    }

    public int CutCount => cut.Count;

    /// <summary>What the overlay's failure detector concludes: the nodes that can be reached from
    /// <paramref name="from"/> over links that work both ways (a link heartbeats both ways, and
    /// link-state routing uses an edge only when both ends list each other, so a one-way cut takes
    /// the whole link down for routing); empty when <paramref name="from"/> is down.</summary>
    public HashSet<string> ReachableFrom(string from)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (down.Contains(from)) return seen;
        seen.Add(from);
        var queue = new Queue<string>();
        queue.Enqueue(from);
        while (queue.TryDequeue(out var at))
        {
            foreach (var next in topology.NeighboursOf(at))
            {
                if (seen.Contains(next) || down.Contains(next) || cut.Contains((at, next)) || cut.Contains((next, at))) continue;
                seen.Add(next);
                queue.Enqueue(next);
            }
        }
        return seen;
    }

    /// <summary>Hops of the shortest live path from <paramref name="from"/> to <paramref name="to"/>, or -1.</summary>
    public int Hops(string from, string to)
    {
        if (hops.TryGetValue((from, to), out var known)) return known;
        return hops[(from, to)] = Search(from, to);
    }

    private int Search(string from, string to)
    {
        if (down.Contains(from) || down.Contains(to)) return -1;
        if (from == to) return 0;
        var seen = new Dictionary<string, int>(StringComparer.Ordinal) { [from] = 0 };
        var queue = new Queue<string>();
        queue.Enqueue(from);
        while (queue.TryDequeue(out var at))
        {
            foreach (var next in topology.NeighboursOf(at))
            {
                if (seen.ContainsKey(next) || down.Contains(next) || cut.Contains((at, next))) continue;
                seen[next] = seen[at] + 1;
                if (next == to) return seen[next];
                queue.Enqueue(next);
            }
        }
        return -1;
    }
}
