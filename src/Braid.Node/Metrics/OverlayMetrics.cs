using System.Diagnostics.Metrics;

namespace Braid.Node.Metrics;

/// <summary>The "Braid.Overlay" meter: links and failure detection from the overlay loop's last
/// sample, the core's envelope counters, and route changes as the loop reports them.</summary>
internal sealed class OverlayMetrics
{
    /// <summary>Phi of a link with no heartbeat at all (infinite), as `braid cluster status` shows it.</summary>
    public const double PhiUnknown = 1e9;

    private readonly Counter<long> routeChanges;

    public OverlayMetrics(IMeterFactory factory, NodeMeters meters, NodeSamples samples)
    {
        var meter = meters.Create(factory, BraidMeters.Overlay);
        meter.CreateObservableGauge("braid.overlay.links.up", () => samples.Overlay.LinksUp, "{link}",
            "Links to neighbours that are connected and not suspected by the failure detector");
        meter.CreateObservableGauge("braid.overlay.phi",
            () => samples.Overlay.Neighbours.Select(n => new Measurement<double>(double.IsFinite(n.Phi) ? n.Phi : PhiUnknown,
                new KeyValuePair<string, object?>("neighbour", n.Id))),
            "{phi}", "Phi-accrual suspicion of each link (suspected above 8; 1e9 when no heartbeat was ever seen)");
        meter.CreateObservableGauge("braid.overlay.nodes.reachable", () => samples.Overlay.Reachable.Count, "{node}",
            "Nodes this node has a route to, itself included");
        meter.CreateObservableCounter("braid.overlay.envelopes.forwarded", () => samples.Overlay.Forwarded, "{envelope}",
            "Envelopes this node relayed for others (hop by hop)");
        meter.CreateObservableCounter("braid.overlay.envelopes.dropped",
            () => new Measurement<long>[]
            {
                new(samples.Overlay.DroppedNoRoute, new KeyValuePair<string, object?>("reason", "no_route")),
                new(samples.Overlay.DroppedTtl, new KeyValuePair<string, object?>("reason", "ttl")),
                new(samples.Overlay.Refused, new KeyValuePair<string, object?>("reason", "refused")),
            },
            "{envelope}", "Envelopes dropped: no route to the destination, TTL exhausted, or refused as malformed");
        routeChanges = meter.CreateCounter<long>("braid.overlay.route.changes", "{change}",
            "Times this node's routing table changed (a link or a remote node came or went)");
    }

    public void RoutesChanged() => routeChanges.Add(1);
}
