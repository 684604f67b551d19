using Braid.Core.Topology;
using Braid.Protocol.V1;

namespace Braid.Core.Routing;

/// <summary>A route to one destination: the neighbour to hand envelopes to, and the hop count.</summary>
public readonly record struct Route(string Destination, string NextHop, int Hops);

/// <summary>
/// Link-state routing over the overlay (as in OSPF, simplified): every node floods the set of its
/// live neighbours, numbered by (incarnation, sequence); every node keeps the newest advert of
/// every origin and computes shortest paths over the edges that BOTH ends advertise as live, so a
/// dead node disappears from every table as soon as one of its neighbours notices, even though
/// its own last advert still sits in the database. Ties between equal-length paths go to the
/// next hop whose id sorts first, so every run computes the same table. Pure: no I/O, no clock.
/// </summary>
public sealed class LinkStateRouter
{
    private readonly ClusterTopology topology;
    private readonly Dictionary<string, LinkStateAdvert> database = new(StringComparer.Ordinal);
    private readonly SortedSet<string> liveNeighbours = new(StringComparer.Ordinal);
    private Dictionary<string, Route> routes = new(StringComparer.Ordinal);

    public LinkStateRouter(ClusterTopology topology, string self, ulong incarnation)
    {
        Invariant.Check(topology.Contains(self), $"node {self} is not in topology {topology.Name}");
        this.topology = topology;
        Self = self;
        Own = new LinkStateAdvert { Origin = self, Incarnation = incarnation, Sequence = 1 };
        database[self] = Own;
    }

    public string Self { get; }

    /// <summary>This node's current advert.</summary>
    public LinkStateAdvert Own { get; private set; }

    public IReadOnlyDictionary<string, Route> Routes => routes;

    public IReadOnlyCollection<LinkStateAdvert> Database => database.Values;

    public IReadOnlySet<string> LiveNeighbours => liveNeighbours;

    public bool TryGetRoute(string destination, out Route route) => routes.TryGetValue(destination, out route);

    /// <summary>
    /// Sets which neighbours are live. Returns the new own advert to flood when the set changed,
    /// null otherwise.
    /// </summary>
    public LinkStateAdvert? SetLiveNeighbours(IEnumerable<string> live)
    {
        var next = new SortedSet<string>(live, StringComparer.Ordinal);
        foreach (var n in next) Invariant.Check(topology.AreNeighbours(Self, n), $"{n} is not an overlay neighbour of {Self}");
        if (next.SetEquals(liveNeighbours)) return null;
        liveNeighbours.Clear();
        liveNeighbours.UnionWith(next);
        return Readvertise();
    }

    /// <summary>Issues a fresh own advert (same neighbours, next sequence) for periodic refresh.</summary>
    public LinkStateAdvert Readvertise()
    {
        var advert = new LinkStateAdvert { Origin = Self, Incarnation = Own.Incarnation, Sequence = Own.Sequence + 1 };
        advert.LiveNeighbours.AddRange(liveNeighbours);
        Own = advert;
        database[Self] = advert;
        Recompute();
        return advert;
    }

    /// <summary>
    /// Takes an advert received from a neighbour. Returns true when it was new (and must be
    /// flooded onwards), false when it was a duplicate or older than what is stored.
    /// </summary>
    public bool Receive(LinkStateAdvert advert)
    {
        if (!topology.Contains(advert.Origin)) return false;
        if (advert.Origin == Self)
        {
            // An advert of ours from an earlier life (or that outran a lost one): jump past it so
            // our current view wins everywhere.
            if (IsNewer(advert, Own))
            {
                Own = new LinkStateAdvert { Origin = Self, Incarnation = advert.Incarnation, Sequence = advert.Sequence };
                Readvertise();
            }
            return false;
        }
        if (database.TryGetValue(advert.Origin, out var stored) && !IsNewer(advert, stored)) return false;
        database[advert.Origin] = advert;
        Recompute();
        return true;
    }

    private static bool IsNewer(LinkStateAdvert a, LinkStateAdvert b) =>
        a.Incarnation != b.Incarnation ? a.Incarnation > b.Incarnation : a.Sequence > b.Sequence;

    private bool EdgeIsUp(string from, string to)
    {
        bool Lists(string a, string b) => a == Self
            ? liveNeighbours.Contains(b)
            : database.TryGetValue(a, out var adv) && adv.LiveNeighbours.Contains(b);
        return Lists(from, to) && Lists(to, from);
    }

    /// <summary>Breadth-first search layer by layer; a node's next hop is the smallest next hop
    /// among its predecessors in the previous layer (deterministic tie-break).</summary>
    private void Recompute()
    {
        var nextHop = new Dictionary<string, string>(StringComparer.Ordinal);
        var hops = new Dictionary<string, int>(StringComparer.Ordinal) { [Self] = 0 };
        var layer = new List<string> { Self };
        var depth = 0;
        while (layer.Count > 0)
        {
            depth++;
            var found = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var at in layer)
            {
                foreach (var next in topology.NeighboursOf(at))
                {
                    if (hops.ContainsKey(next) || !EdgeIsUp(at, next)) continue;
                    var via = at == Self ? next : nextHop[at];
                    if (!found.TryGetValue(next, out var current) || string.CompareOrdinal(via, current) < 0) found[next] = via;
                }
            }
            foreach (var (node, via) in found)
            {
                hops[node] = depth;
                nextHop[node] = via;
            }
            layer = found.Keys.ToList();
        }
        routes = nextHop.ToDictionary(kv => kv.Key, kv => new Route(kv.Key, kv.Value, hops[kv.Key]), StringComparer.Ordinal);
    }
}
