using Braid.Core.Overlay;
using Braid.Core.Routing;
using Braid.Core.Topology;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Cli.Fuzz;

/// <summary>
/// Link frames into node A of mini2 as from its neighbour B (or E), exactly as OverlayDriver.FrameAsync
/// hands them to the pure <see cref="OverlayNode"/>: the frame counts as a heartbeat, then each
/// envelope (adverts, probes, probe replies, Raft batches, calls) is received. Seeds are the frames
/// a converged mini2 overlay really sends A, plus probes and Raft envelopes from afar. Judged on
/// A: nothing throws, everything it sends goes to a neighbour with a sane TTL, it delivers only
/// what is addressed to it, and its routes lead through neighbours.
/// </summary>
internal sealed class OverlayFuzzTarget : FuzzTarget
{
    private const ulong Incarnation = 1_700_000_000_000;
    private static readonly OverlayOptions Options = OverlayOptions.Default;
    private static readonly ClusterTopology Topology = TopologyFiles.Load("mini2");
    private static readonly Lazy<(List<(string From, LinkFrame Frame)> ToA, byte[][] Seeds)> Converged = new(Converge);

    private OverlayNode? node;
    private string neighbour = "B";
    private TimeSpan now;

    public override string Name => "overlay";
    public override string Description => "LinkFrame bytes from a neighbour into OverlayNode A of mini2 (frames, envelopes, adverts, probes)";

    public override int CasesPerReset => 200;

    public override int InputBytesMax => 256 * 1024;

    public override IReadOnlyList<byte[]> Seeds => Converged.Value.Seeds;

    /// <summary>Runs the six nodes of mini2 in memory until the routes converge, keeping every frame sent to A.</summary>
    private static (List<(string From, LinkFrame Frame)>, byte[][]) Converge()
    {
        var nodes = Topology.NodeIds.ToDictionary(id => id, id => new OverlayNode(Topology, id, Incarnation, Options));
        var toA = new List<(string From, LinkFrame Frame)>();
        var t = TimeSpan.FromMilliseconds(10);
        foreach (var (x, y) in Topology.Edges)
        {
            nodes[x].LinkConnected(y, t);
            nodes[y].LinkConnected(x, t);
        }
        for (int round = 0; round < 40; round++)
        {
            t += TimeSpan.FromMilliseconds(50);
            if (round == 20)
            {
                nodes["D"].SendProbe("A");
                nodes["A"].SendProbe("D");
                nodes["F"].Send(new Envelope { Destination = "A", Raft = SampleRaftBatch("F") });
                nodes["C"].Send(new Envelope { Destination = "A", Payload = ByteString.CopyFromUtf8("hello A") });
                nodes["E"].Send(new Envelope { Destination = "A", Request = new NodeRequest { CallId = 9, CommitIndex = new CommitIndexRequest() } });
            }
            foreach (var (id, n) in nodes)
            {
                n.Tick(t);
                var output = n.TakeOutput();
                foreach (var group in output.Sends.GroupBy(s => s.Neighbour))
                {
                    var frame = new LinkFrame();
                    frame.Envelopes.AddRange(group.Select(s => s.Envelope.Clone()));
                    if (group.Key == "A") toA.Add((id, frame.Clone()));
                    nodes[group.Key].FrameReceived(id, t);
                    foreach (var e in frame.Envelopes) nodes[group.Key].EnvelopeReceived(id, e, t);
                }
            }
        }
        var seeds = toA.Select(f => f.Frame.ToByteArray()).DistinctBy(Convert.ToHexString).ToList();
        seeds.Add(new LinkFrame { Heartbeat = new Heartbeat { SentMicros = 123, Sequence = 4 } }.ToByteArray());
        seeds.Add(new LinkFrame { Hello = new Hello { NodeId = "B", Incarnation = Incarnation, TopologyHash = Topology.Hash, Partitions = 3, Replicas = 3 } }.ToByteArray());
        return (toA, seeds.ToArray());
    }

    private static RaftBatch SampleRaftBatch(string from)
    {
        var batch = new RaftBatch();
        batch.Messages.Add(new RaftMessage { Type = RaftMessageType.Append, From = from, To = "A", Term = 3, Index = 1, LogTerm = 1, Commit = 1 });
        return batch;
    }

    public override void Reset(long block)
    {
        neighbour = block % 2 == 0 ? "B" : "E";
        now = TimeSpan.FromMilliseconds(10);
        node = new OverlayNode(Topology, "A", Incarnation, Options);
        node.LinkConnected("B", now);
        node.LinkConnected("E", now);
        foreach (var (from, frame) in Converged.Value.ToA)
        {
            node.FrameReceived(from, now);
            foreach (var e in frame.Envelopes) node.EnvelopeReceived(from, e.Clone(), now);
        }
        node.TakeOutput();
    }

    public override string? Run(byte[] input)
    {
        var a = node!;
        now += TimeSpan.FromMilliseconds(20);
        LinkFrame frame;
        try
        {
            frame = LinkFrame.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException)
        {
            return "InvalidProtocolBufferException";
        }
        long refusedBefore = a.Refused;
        a.FrameReceived(neighbour, now);
        foreach (var envelope in frame.Envelopes) a.EnvelopeReceived(neighbour, envelope, now);
        // The other neighbour stays alive, so routes do not all collapse into one link.
        a.FrameReceived(neighbour == "B" ? "E" : "B", now);
        a.Tick(now);
        Check(a, a.TakeOutput());
        long refused = a.Refused - refusedBefore;
        if (frame.Envelopes.Count == 0) return frame.Hello is not null ? "hello on a live link (ignored)" : "no envelopes (heartbeat)";
        return refused == frame.Envelopes.Count ? "refused by EnvelopeValidator" : null;
    }

    private static void Check(OverlayNode a, OverlayOutput output)
    {
        foreach (var (to, envelope) in output.Sends)
        {
            FuzzInvariantException.Check(Topology.AreNeighbours("A", to), $"A sends to {to}, not a neighbour");
            FuzzInvariantException.Check(envelope.Ttl >= 1 && envelope.Ttl <= Options.DefaultTtl, $"A sends an envelope with ttl {envelope.Ttl}");
            FuzzInvariantException.Check(Topology.Contains(envelope.Destination), $"A sends to unknown destination '{envelope.Destination}'");
        }
        foreach (var envelope in output.Delivered)
            FuzzInvariantException.Check(envelope.Destination == "A" && Topology.Contains(envelope.Source), $"A delivered an envelope for {envelope.Destination} from '{envelope.Source}'");
        foreach (var (destination, route) in a.Router.Routes)
            FuzzInvariantException.Check(Topology.Contains(destination) && Topology.AreNeighbours("A", route.NextHop), $"route to {destination} via {route.NextHop}");
        var own = a.Router.Own;
        FuzzInvariantException.Check(own.Origin == "A" && own.Incarnation >= Incarnation && own.Incarnation < LinkStateLimits.IncarnationMax
            && own.Sequence <= LinkStateLimits.SequenceMax, $"A's own advert is ({own.Incarnation}, {own.Sequence})");
        foreach (var advert in a.Router.Database)
            FuzzInvariantException.Check(Topology.Contains(advert.Origin) && advert.Incarnation <= LinkStateLimits.IncarnationMax,
                $"stored advert of '{advert.Origin}' at incarnation {advert.Incarnation}");
    }
}
