using Braid.Core.Failure;
using Braid.Core.Routing;
using Braid.Core.Topology;
using Braid.Protocol.V1;

namespace Braid.Core.Overlay;

/// <summary>Timing of the overlay.</summary>
public sealed record OverlayOptions(
    PhiAccrualOptions Phi,
    TimeSpan HeartbeatInterval,
    TimeSpan AdvertRefreshInterval,
    uint DefaultTtl)
{
    public static OverlayOptions Default { get; } = new(
        PhiAccrualOptions.Default,
        HeartbeatInterval: TimeSpan.FromMilliseconds(200),
        AdvertRefreshInterval: TimeSpan.FromSeconds(5),
        DefaultTtl: 16);

    /// <summary>How far another node's clock may run ahead of ours: an advert whose incarnation (its
    /// origin's start time) lies further in the future is refused as forged.</summary>
    public TimeSpan IncarnationSkewMax { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A heartbeat is due this much before a whole interval has passed, so that a tick a
    /// millisecond early (timers round to milliseconds) does not put it off by a whole tick: with
    /// 200 ms ticks that would be a 400 ms gap, which the failure detector learns as normal.</summary>
    public TimeSpan HeartbeatSlack { get; init; } = TimeSpan.FromMilliseconds(10);
}

/// <summary>What a neighbour looks like from here.</summary>
public readonly record struct NeighbourView(string Id, bool Connected, bool Alive, double Phi);

/// <summary>
/// One node's overlay protocol: per-link failure detection, link-state routing and hop-by-hop
/// forwarding with TTL. Pure, in the style of etcd-io/raft: the driver feeds in link events,
/// frames and ticks with the current time, then calls <see cref="TakeOutput"/> and performs what
/// it says (send envelopes on links, send heartbeats, hand delivered envelopes to local services).
/// Nothing here depends on durable state, so there is no persist-before-send obligation.
/// </summary>
public sealed class OverlayNode
{
    private ClusterTopology topology;
    private readonly OverlayOptions options;
    private readonly LinkStateRouter router;
    private readonly EnvelopeValidator validator;
    private readonly ulong startIncarnation;
    private readonly Dictionary<string, LinkState> links = new(StringComparer.Ordinal);
    private OverlayOutput output = new();
    private TimeSpan nextHeartbeat;
    private TimeSpan nextRefresh;
    private ulong nextProbeId = 1;

    public OverlayNode(ClusterTopology topology, string self, ulong incarnation, OverlayOptions options)
    {
        this.topology = topology;
        this.options = options;
        Self = self;
        Invariant.Check(incarnation < LinkStateLimits.IncarnationMax, $"{self}: incarnation {incarnation} beyond the bound");
        router = new LinkStateRouter(topology, self, incarnation);
        validator = new EnvelopeValidator(topology, self, options.DefaultTtl, options.IncarnationSkewMax);
        startIncarnation = incarnation;
        foreach (var n in topology.NeighboursOf(self)) links[n] = new LinkState(new PhiAccrualDetector(options.Phi));
        nextRefresh = options.AdvertRefreshInterval;
    }

    public string Self { get; }

    /// <summary>The graph this node routes on (the topology file's, grown by added nodes).</summary>
    public ClusterTopology Topology => topology;

    /// <summary>
    /// Nodes and edges were added to the running cluster (issue 12; the metadata group's catalog
    /// holds them): links to new neighbours are expected (their failure detectors start now), the
    /// new nodes' adverts are accepted and routes use the new edges. The graph only grows: a
    /// removed node keeps its place in it and simply holds no replica. Returns false (and changes
    /// nothing) when <paramref name="bigger"/> is not a superset of the current graph.
    /// </summary>
    public bool Grow(ClusterTopology bigger)
    {
        ArgumentNullException.ThrowIfNull(bigger);
        if (!bigger.Contains(Self) || !topology.NodeIds.All(bigger.Contains) || !topology.Edges.All(e => bigger.AreNeighbours(e.A, e.B))) return false;
        if (bigger.Hash == topology.Hash) return true;
        topology = bigger;
        router.Grow(bigger);
        validator.Grow(bigger);
        foreach (var n in bigger.NeighboursOf(Self))
            if (!links.ContainsKey(n)) links[n] = new LinkState(new PhiAccrualDetector(options.Phi));
        output.Events.Add($"topology grew to {bigger.Nodes.Count} nodes, {bigger.Edges.Count} edges");
        output.RoutesChanged = true;
        return true;
    }

    public ulong Incarnation => router.Own.Incarnation;
    public LinkStateRouter Router => router;
    public long Forwarded { get; private set; }
    public long DroppedNoRoute { get; private set; }
    public long DroppedTtl { get; private set; }

    /// <summary>Envelopes refused by <see cref="EnvelopeValidator"/> (each also in <see cref="OverlayOutput.Refusals"/>).</summary>
    public long Refused { get; private set; }

    public IEnumerable<NeighbourView> Neighbours(TimeSpan now) =>
        links.Select(kv => new NeighbourView(kv.Key, kv.Value.Connected, kv.Value.Alive, kv.Value.Detector.Phi(now)));

    /// <summary>Nodes of the topology with no route from here.</summary>
    public IEnumerable<string> Unreachable() =>
        topology.NodeIds.Where(id => id != Self && !router.Routes.ContainsKey(id));

    /// <summary>The stream to <paramref name="neighbour"/> is established (hellos exchanged).</summary>
    public void LinkConnected(string neighbour, TimeSpan now)
    {
        var link = Link(neighbour);
        link.Connected = true;
        link.Detector.Reset();
        link.Detector.Heartbeat(now);
        output.Events.Add($"link {Self}-{neighbour} connected");
        UpdateLiveness(now);
    }

    /// <summary>The stream broke: an immediate suspicion, no need to wait for phi.</summary>
    public void LinkDisconnected(string neighbour, TimeSpan now)
    {
        var link = Link(neighbour);
        if (!link.Connected) return;
        link.Connected = false;
        output.Events.Add($"link {Self}-{neighbour} disconnected");
        UpdateLiveness(now);
    }

    /// <summary>Any frame from a neighbour counts as a heartbeat.</summary>
    public void FrameReceived(string neighbour, TimeSpan now)
    {
        var link = Link(neighbour);
        if (!link.Connected) return;
        if (!link.Alive)
        {
            // The silence that got the peer suspected is an outage, not a sample of its heartbeat
            // rhythm: learning from it would blunt detection of the next outage for a long time.
            link.Detector.Reset();
            link.Detector.Heartbeat(now);
            UpdateLiveness(now);
            return;
        }
        link.Detector.Heartbeat(now);
    }

    /// <summary>True when a new stream claiming to be <paramref name="neighbour"/> may replace the
    /// current one: only when there is none or it has gone quiet. Without link identity a stranger
    /// can claim any id; preferring the live link keeps the real neighbour connected.</summary>
    public bool AcceptsNewLink(string neighbour, TimeSpan now)
    {
        var link = Link(neighbour);
        return !link.Connected || link.Detector.IsSuspected(now);
    }

    /// <summary>An envelope that came in on the link from <paramref name="neighbour"/>. Invalid ones are
    /// dropped and reported in <see cref="OverlayOutput.Refusals"/>; nothing here throws on input.</summary>
    public void EnvelopeReceived(string neighbour, Envelope envelope, TimeSpan now)
    {
        Link(neighbour);
        var refusal = validator.Refusal(neighbour, envelope, IncarnationCeiling(now));
        if (refusal is not null)
        {
            Refused++;
            output.Refusals.Add($"from {neighbour}: {refusal}");
            return;
        }
        if (envelope.BodyCase == Envelope.BodyOneofCase.LinkState)
        {
            var version = router.RoutesVersion;
            var outcome = router.Receive(envelope.LinkState);
            // A route learnt or lost through someone else's advert is a change as much as one of
            // our own links (the host logs it and fails over partitions led by a lost node).
            if (router.RoutesVersion != version) output.RoutesChanged = true;
            switch (outcome)
            {
                case AdvertOutcome.Stored:
                    Flood(envelope.LinkState, except: neighbour);
                    break;
                case AdvertOutcome.FoughtBack:
                    output.Events.Add($"an advert about {Self} outnumbered ours (from an earlier life or forged); re-originated as "
                        + $"({router.Own.Incarnation}, {router.Own.Sequence})");
                    Flood(router.Own, except: null);
                    break;
                case AdvertOutcome.Stale:
                    output.Sends.Add((neighbour, LinkLocal(neighbour, router.Stored(envelope.LinkState.Origin)!)));
                    break;
            }
            return;
        }
        if (envelope.Destination == Self)
        {
            Deliver(envelope);
            return;
        }
        if (envelope.Ttl <= 1)
        {
            DroppedTtl++;
            return;
        }
        envelope.Ttl--;
        if (IsProbe(envelope)) envelope.Route.Add(Self);
        if (Forward(envelope)) Forwarded++;
    }

    /// <summary>The largest incarnation (start time in unix ms) another node can have now: our start
    /// plus our uptime plus the clock skew allowed.</summary>
    private ulong IncarnationCeiling(TimeSpan now) =>
        EnvelopeValidator.SaturatingAdd(startIncarnation, (ulong)Math.Max(0, now.TotalMilliseconds) + (ulong)options.IncarnationSkewMax.TotalMilliseconds);

    public void Tick(TimeSpan now)
    {
        UpdateLiveness(now);
        if (now >= nextHeartbeat)
        {
            output.SendHeartbeats = true;
            nextHeartbeat = now + options.HeartbeatInterval - options.HeartbeatSlack;
        }
        if (now >= nextRefresh)
        {
            Flood(router.Readvertise(), except: null);
            nextRefresh = now + options.AdvertRefreshInterval;
        }
    }

    /// <summary>Originates an envelope from this node. Returns false (and sends nothing) when
    /// there is no route to the destination.</summary>
    public bool Send(Envelope envelope)
    {
        envelope.Source = Self;
        // Always the default: receivers infer hops travelled from it (EnvelopeValidator).
        envelope.Ttl = options.DefaultTtl;
        if (envelope.Destination == Self)
        {
            Deliver(envelope);
            return true;
        }
        return Forward(envelope);
    }

    /// <summary>Starts a record-route probe; the reply arrives as a delivered
    /// <see cref="ProbeReply"/> with the returned id. Null when the destination is unreachable.</summary>
    public ulong? SendProbe(string destination)
    {
        var id = nextProbeId++;
        var envelope = new Envelope { Destination = destination, Probe = new Probe { ProbeId = id } };
        envelope.Route.Add(Self);
        return Send(envelope) ? id : null;
    }

    /// <summary>Hands over everything the driver must do, and starts a fresh batch.</summary>
    public OverlayOutput TakeOutput()
    {
        var taken = output;
        output = new OverlayOutput();
        return taken;
    }

    private void Deliver(Envelope envelope)
    {
        if (envelope.BodyCase == Envelope.BodyOneofCase.Probe)
        {
            if (envelope.Route.Count == 0 || envelope.Route[^1] != Self) envelope.Route.Add(Self);
            var reply = new Envelope { Destination = envelope.Source, ProbeReply = new ProbeReply { ProbeId = envelope.Probe.ProbeId } };
            reply.ProbeReply.ForwardRoute.AddRange(envelope.Route);
            reply.Route.Add(Self);
            Send(reply);
            return;
        }
        if (envelope.BodyCase == Envelope.BodyOneofCase.ProbeReply && (envelope.Route.Count == 0 || envelope.Route[^1] != Self))
            envelope.Route.Add(Self);
        output.Delivered.Add(envelope);
    }

    private bool Forward(Envelope envelope)
    {
        if (!router.TryGetRoute(envelope.Destination, out var route))
        {
            DroppedNoRoute++;
            return false;
        }
        output.Sends.Add((route.NextHop, envelope));
        return true;
    }

    private void Flood(LinkStateAdvert advert, string? except)
    {
        foreach (var (id, link) in links)
        {
            if (id == except || !link.Alive) continue;
            output.Sends.Add((id, LinkLocal(id, advert)));
        }
    }

    private Envelope LinkLocal(string neighbour, LinkStateAdvert advert) =>
        new() { Source = Self, Destination = neighbour, Ttl = 1, LinkState = advert };

    private void UpdateLiveness(TimeSpan now)
    {
        var changed = false;
        foreach (var (id, link) in links)
        {
            var alive = link.Connected && !link.Detector.IsSuspected(now);
            if (alive == link.Alive) continue;
            link.Alive = alive;
            changed = true;
            output.Events.Add(alive ? $"neighbour {id} alive" : $"neighbour {id} suspected (phi {link.Detector.Phi(now):F1}, connected {link.Connected})");
            if (alive)
                foreach (var advert in router.Database) output.Sends.Add((id, LinkLocal(id, advert)));
        }
        if (!changed) return;
        var advertOut = router.SetLiveNeighbours(links.Where(kv => kv.Value.Alive).Select(kv => kv.Key));
        if (advertOut is not null) Flood(advertOut, except: null);
        output.RoutesChanged = true;
    }

    private LinkState Link(string neighbour) =>
        links.TryGetValue(neighbour, out var link) ? link : throw new InvariantViolationException($"{neighbour} is not a neighbour of {Self}");

    private static bool IsProbe(Envelope e) => e.BodyCase is Envelope.BodyOneofCase.Probe or Envelope.BodyOneofCase.ProbeReply;

    private sealed class LinkState(PhiAccrualDetector detector)
    {
        public PhiAccrualDetector Detector { get; } = detector;
        public bool Connected { get; set; }
        public bool Alive { get; set; }
    }
}

/// <summary>What the driver must do after feeding the overlay some input.</summary>
public sealed class OverlayOutput
{
    /// <summary>Envelopes to send, each on the link to the named neighbour, in order.</summary>
    public List<(string Neighbour, Envelope Envelope)> Sends { get; } = [];

    /// <summary>True when a heartbeat is due on every connected link.</summary>
    public bool SendHeartbeats { get; set; }

    /// <summary>Envelopes addressed to this node (probe replies, payloads) for local services.</summary>
    public List<Envelope> Delivered { get; } = [];

    /// <summary>Human-readable events (links, liveness) for the log.</summary>
    public List<string> Events { get; } = [];

    /// <summary>Why envelopes were refused, for a rate-limited warning; the envelopes were dropped.</summary>
    public List<string> Refusals { get; } = [];

    public bool RoutesChanged { get; set; }

    public bool IsEmpty => Sends.Count == 0 && !SendHeartbeats && Delivered.Count == 0 && Events.Count == 0 && Refusals.Count == 0 && !RoutesChanged;
}
