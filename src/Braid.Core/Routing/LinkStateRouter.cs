using Braid.Core.Topology;
using Braid.Protocol.V1;

namespace Braid.Core.Routing;

/// <summary>
/// Bounds on advert numbering (issue 11). Incarnations are a node's start time in unix
/// milliseconds, sequences count adverts within one incarnation. Both stay far below 2^64 so that
/// every "one more" is safe: a node whose sequence reaches <see cref="SequenceMax"/> moves to the
/// next incarnation, and adverts beyond the bounds are refused at the boundary.
/// </summary>
public static class LinkStateLimits
{
    /// <summary>Some 146 million years of unix milliseconds; anything larger is forged.</summary>
    public const ulong IncarnationMax = 1UL << 62;

    /// <summary>One advert a millisecond for 49 days before a node rolls to the next incarnation.</summary>
    public const ulong SequenceMax = 1UL << 32;

    /// <summary>The numbering that follows (incarnation, sequence): never wraps within the bounds.</summary>
    public static (ulong Incarnation, ulong Sequence) Next(ulong incarnation, ulong sequence) =>
        sequence < SequenceMax ? (incarnation, sequence + 1) : (incarnation + 1, 1);
}

/// <summary>What <see cref="LinkStateRouter.Receive"/> made of an advert.</summary>
public enum AdvertOutcome
{
    /// <summary>The same as what is stored: not flooded.</summary>
    Ignored,

    /// <summary>Older than what is stored: send the stored one back to the neighbour (RFC 2328
    /// 13 (8)), so that a node holding a newer copy, even one only it was given, spreads it.</summary>
    Stale,

    /// <summary>Newer than what was stored: flood it onwards.</summary>
    Stored,

    /// <summary>An advert about this node that outnumbers its own (an earlier life, or a forgery):
    /// this node re-originated with a strictly higher number; flood <see cref="LinkStateRouter.Own"/>.</summary>
    FoughtBack,
}

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
    private ClusterTopology topology;
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

    /// <summary>The graph grew (nodes and edges added to a running cluster, issue 12): routes are
    /// computed on it from now on. Adverts of the new nodes are accepted from now on.</summary>
    public void Grow(ClusterTopology bigger)
    {
        ArgumentNullException.ThrowIfNull(bigger);
        Invariant.Check(topology.NodeIds.All(bigger.Contains) && topology.Edges.All(e => bigger.AreNeighbours(e.A, e.B)), "a topology may only grow");
        topology = bigger;
        Recompute();
    }

    /// <summary>This node's current advert.</summary>
    public LinkStateAdvert Own { get; private set; }

    public IReadOnlyDictionary<string, Route> Routes => routes;

    public IReadOnlyCollection<LinkStateAdvert> Database => database.Values;

    /// <summary>The stored advert of <paramref name="origin"/>, if any.</summary>
    public LinkStateAdvert? Stored(string origin) => database.GetValueOrDefault(origin);

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
        var (incarnation, sequence) = LinkStateLimits.Next(Own.Incarnation, Own.Sequence);
        return Originate(incarnation, sequence);
    }

    private LinkStateAdvert Originate(ulong incarnation, ulong sequence)
    {
        Invariant.Check(incarnation <= LinkStateLimits.IncarnationMax + 1, $"{Self}: incarnation {incarnation} beyond the bound");
        var advert = new LinkStateAdvert { Origin = Self, Incarnation = incarnation, Sequence = sequence };
        advert.LiveNeighbours.AddRange(liveNeighbours);
        Own = advert;
        database[Self] = advert;
        Recompute();
        return advert;
    }

    /// <summary>
    /// Takes an advert received from a neighbour, already checked against
    /// <see cref="LinkStateLimits"/> (see <c>EnvelopeValidator</c>).
    /// </summary>
    public AdvertOutcome Receive(LinkStateAdvert advert)
    {
        Invariant.Check(topology.Contains(advert.Origin), $"advert of unknown node {advert.Origin}");
        Invariant.Check(advert.Incarnation <= LinkStateLimits.IncarnationMax && advert.Sequence <= LinkStateLimits.SequenceMax,
            $"advert of {advert.Origin} numbered ({advert.Incarnation}, {advert.Sequence}) beyond the bounds");
        if (advert.Origin == Self)
        {
            // An advert of ours from an earlier life, or a forgery: only we speak for ourselves, so
            // re-originate with a strictly higher number and flood it (OSPF's fight-back for
            // self-originated LSAs). The bounds guarantee a higher number exists.
            if (!IsNewer(advert, Own)) return IsNewer(Own, advert) ? AdvertOutcome.Stale : AdvertOutcome.Ignored;
            var (incarnation, sequence) = LinkStateLimits.Next(advert.Incarnation, advert.Sequence);
            Originate(incarnation, sequence);
            return AdvertOutcome.FoughtBack;
        }
        if (database.TryGetValue(advert.Origin, out var stored) && !IsNewer(advert, stored))
            return IsNewer(stored, advert) ? AdvertOutcome.Stale : AdvertOutcome.Ignored;
        database[advert.Origin] = advert;
        Recompute();
        return AdvertOutcome.Stored;
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
        var table = nextHop.ToDictionary(kv => kv.Key, kv => new Route(kv.Key, kv.Value, hops[kv.Key]), StringComparer.Ordinal);
        if (table.Count != routes.Count || table.Any(kv => !routes.TryGetValue(kv.Key, out var old) || old != kv.Value)) RoutesVersion++;
        routes = table;
    }

    /// <summary>Grows by one whenever the route table changes (by a liveness change here or an
    /// advert from elsewhere): a host compares it to know when to act.</summary>
    public long RoutesVersion { get; private set; }
}
