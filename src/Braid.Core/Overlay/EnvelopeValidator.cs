using Braid.Core.Routing;
using Braid.Core.Topology;
using Braid.Protocol.V1;

namespace Braid.Core.Overlay;

/// <summary>
/// Checks every field of an envelope that arrived on the link from a neighbour before the overlay
/// acts on it (issue 11). Anything that could not have come from an honest node running the same
/// topology is refused with a reason, never an exception. Without link identity (TLS) a neighbour is
/// trusted as a router, so the checks are about plausibility: an advert is link-local flooding from
/// that neighbour; a forwarded envelope has used at least as many hops as the graph requires from
/// its claimed source; a record-route is a walk along the graph that ends at the neighbour.
/// </summary>
public sealed class EnvelopeValidator
{
    private ClusterTopology topology;
    private readonly string self;
    private readonly uint defaultTtl;
    private readonly Dictionary<(string, string), int> distances = [];

    private readonly ulong incarnationSkewMs;

    /// <param name="incarnationSkew">How far ahead of ours another node's clock may run.</param>
    public EnvelopeValidator(ClusterTopology topology, string self, uint defaultTtl, TimeSpan incarnationSkew)
    {
        incarnationSkewMs = (ulong)incarnationSkew.TotalMilliseconds;
        this.topology = topology;
        this.self = self;
        this.defaultTtl = defaultTtl;
        foreach (var from in topology.NodeIds) Measure(from);
    }

    /// <summary>The graph grew (nodes added to a running cluster, issue 12): distances are measured again.</summary>
    public void Grow(ClusterTopology bigger)
    {
        ArgumentNullException.ThrowIfNull(bigger);
        topology = bigger;
        distances.Clear();
        foreach (var from in topology.NodeIds) Measure(from);
    }

    /// <summary>Null when <paramref name="envelope"/> may be processed; otherwise why not.</summary>
    /// <param name="incarnationCeiling">The largest incarnation another node can plausibly have now
    /// (see <see cref="LinkStateLimits"/>).</param>
    public string? Refusal(string neighbour, Envelope envelope, ulong incarnationCeiling)
    {
        if (!topology.Contains(envelope.Source)) return $"unknown source '{Short(envelope.Source)}'";
        if (!topology.Contains(envelope.Destination)) return $"unknown destination '{Short(envelope.Destination)}'";
        if (envelope.BodyCase == Envelope.BodyOneofCase.None) return "no body";
        if (envelope.BodyCase == Envelope.BodyOneofCase.LinkState) return AdvertRefusal(neighbour, envelope, incarnationCeiling);
        // Our own envelopes are delivered locally and never cross a link addressed to us.
        if (envelope.Source == self && envelope.Destination == self) return $"claims to come from {self} itself";
        // Every origin starts at the default TTL and each forwarding hop takes one; a forwarded
        // envelope has crossed at least the graph distance from its source to the neighbour.
        var ttlMax = defaultTtl - (uint)Math.Min(defaultTtl, distances[(envelope.Source, neighbour)]);
        if (envelope.Ttl == 0 || envelope.Ttl > ttlMax)
            return $"ttl {envelope.Ttl} impossible for an envelope from {envelope.Source} arriving via {neighbour} (1 to {ttlMax})";
        return envelope.BodyCase switch
        {
            Envelope.BodyOneofCase.Probe => RouteRefusal(neighbour, envelope),
            Envelope.BodyOneofCase.ProbeReply => RouteRefusal(neighbour, envelope) ?? ForwardRouteRefusal(envelope),
            _ => envelope.Route.Count == 0 ? null : "a route on an envelope that is not a probe",
        };
    }

    private string? AdvertRefusal(string neighbour, Envelope envelope, ulong incarnationCeiling)
    {
        // Adverts are only flooded hop by hop: each copy comes from the neighbour itself, to us.
        if (envelope.Source != neighbour || envelope.Destination != self || envelope.Ttl != 1 || envelope.Route.Count != 0)
            return $"an advert must be link-local from {neighbour} (source {Short(envelope.Source)}, ttl {envelope.Ttl})";
        var advert = envelope.LinkState;
        if (!topology.Contains(advert.Origin)) return $"advert of unknown node '{Short(advert.Origin)}'";
        if (advert.Sequence == 0 || advert.Sequence > LinkStateLimits.SequenceMax)
            return $"advert of {advert.Origin}: sequence {advert.Sequence} out of range (1 to {LinkStateLimits.SequenceMax})";
        if (advert.Incarnation > LinkStateLimits.IncarnationMax)
            return $"advert of {advert.Origin}: incarnation {advert.Incarnation} out of range (up to {LinkStateLimits.IncarnationMax})";
        // Incarnations are start times: one far ahead of our clock is forged (or that node's clock is
        // wrong). About ourselves we allow one more skew: any advert some honest node (whose clock
        // may run ahead of ours) could have stored is one we must beat (LinkStateRouter.Receive).
        var ceiling = advert.Origin == self ? SaturatingAdd(incarnationCeiling, incarnationSkewMs) : incarnationCeiling;
        if (advert.Incarnation > ceiling)
            return $"advert of {advert.Origin}: incarnation {advert.Incarnation} is from the future "
                + $"(at most {ceiling} here; are the clocks more than {incarnationSkewMs} ms apart?)";
        if (advert.LiveNeighbours.Count > topology.NeighboursOf(advert.Origin).Count)
            return $"advert of {advert.Origin}: {advert.LiveNeighbours.Count} live neighbours, the topology gives it {topology.NeighboursOf(advert.Origin).Count}";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in advert.LiveNeighbours)
            if (!topology.AreNeighbours(advert.Origin, n) || !seen.Add(n))
                return $"advert of {advert.Origin}: '{Short(n)}' is not one of its neighbours or is listed twice";
        return null;
    }

    /// <summary>A probe's route: the source first, then each hop that forwarded it, ending with the neighbour.</summary>
    private string? RouteRefusal(string neighbour, Envelope envelope)
    {
        var route = envelope.Route;
        if (route.Count == 0 || route[0] != envelope.Source || route[^1] != neighbour)
            return $"probe route [{Short(string.Join(",", route))}] must run from {envelope.Source} to {neighbour}";
        if (route.Count > defaultTtl) return $"probe route of {route.Count} hops (at most {defaultTtl})";
        return WalkRefusal(route);
    }

    /// <summary>A reply carries the forward route: from the prober (its destination) to the replier (its source).</summary>
    private string? ForwardRouteRefusal(Envelope envelope)
    {
        var route = envelope.ProbeReply.ForwardRoute;
        if (route.Count == 0 || route.Count > defaultTtl + 1 || route[0] != envelope.Destination || route[^1] != envelope.Source)
            return $"probe reply forward route [{Short(string.Join(",", route))}] must run from {envelope.Destination} to {envelope.Source}";
        return WalkRefusal(route);
    }

    private string? WalkRefusal(IReadOnlyList<string> route)
    {
        for (var i = 1; i < route.Count; i++)
            if (!topology.AreNeighbours(route[i - 1], route[i]))
                return $"route step {Short(route[i - 1])}-{Short(route[i])} is not an edge";
        return null;
    }

    /// <summary>Adds without wrapping, and never past <see cref="LinkStateLimits.IncarnationMax"/>.</summary>
    public static ulong SaturatingAdd(ulong a, ulong b) =>
        Math.Min(LinkStateLimits.IncarnationMax, a > ulong.MaxValue - b ? ulong.MaxValue : a + b);

    private void Measure(string from)
    {
        distances[(from, from)] = 0;
        var layer = new List<string> { from };
        for (var depth = 1; layer.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var at in layer)
                foreach (var n in topology.NeighboursOf(at))
                    if (distances.TryAdd((from, n), depth)) next.Add(n);
            layer = next;
        }
    }

    /// <summary>Refusals quote what they refuse; a hostile string is cut short for the log.</summary>
    private static string Short(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
