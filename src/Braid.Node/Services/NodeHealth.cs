using Braid.Node.Metrics;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Logging;

namespace Braid.Node.Services;

/// <summary>
/// What the gRPC health service says about this node (issue 14, item 2; documented in
/// docs/metrics.md):
/// <list type="bullet">
/// <item>"" (the node): NOT_SERVING from start while the partition logs replay (every replica
/// opens its files and applies the log it holds; see <see cref="Partitions.RaftDriver"/>'s replay)
/// and until the node has joined (at least one live overlay link, or it has no neighbour in the
/// topology); SERVING from then on until it stops.</item>
/// <item>"braid.v1.Stream": SERVING when the node is ready and can take a write now: at least one
/// partition it holds is open, not in a NOSPACE alarm, and knows a leader that is this node or
/// that it has a route to. Otherwise NOT_SERVING (all its replicas failed or full, or no route to
/// any leader: a minority side, an isolated node, an election under way everywhere).</item>
/// <item>"braid.v1.Peer": SERVING from start (neighbours must be able to link before the node joins).</item>
/// <item>"braid.partition.N": SERVING while this node's replica of N is open (see <see cref="Partitions.RaftDriver"/>).</item>
/// </list>
/// </summary>
internal sealed class NodeHealth(HealthServiceImpl service, NodeOptions options, ILogger<NodeHealth> logger)
{
    public const string Node = "";
    public const string Stream = "braid.v1.Stream";
    public const string Peer = "braid.v1.Peer";

    private readonly Lock gate = new();
    private readonly Dictionary<string, bool> shown = new(StringComparer.Ordinal);
    private bool replayed;
    private bool joined;
    private bool stopped;

    /// <summary>Before the node listens: nothing is served until replay and join are done.</summary>
    public void Starting()
    {
        lock (gate)
        {
            Show(Node, false);
            Show(Stream, false);
            Show(Peer, true);
        }
    }

    /// <summary>Every replica has applied what it had committed at start.</summary>
    public void ReplayEnded()
    {
        lock (gate) replayed = true;
    }

    public bool Replayed
    {
        get { lock (gate) return replayed; }
    }

    /// <summary>Re-evaluates from the loops' latest samples (the partition loop calls it each tick).</summary>
    public void Evaluate(PartitionsSample partitions, OverlaySample overlay)
    {
        lock (gate)
        {
            if (stopped || !replayed) return;
            joined |= overlay.LinksUp > 0 || options.Topology.NeighboursOf(options.NodeId).Count == 0;
            Show(Node, joined);
            Show(Stream, joined && CanTakeWrites(partitions, overlay.Reachable));
        }
    }

    /// <summary>The write rule: some replica here is open, has room, and knows a leader it can reach.</summary>
    public static bool CanTakeWrites(PartitionsSample partitions, IReadOnlySet<string> reachable) =>
        partitions.Running.Any(p => !p.NoSpace && p.Leader is { } leader && (p.IsLeader || reachable.Contains(leader)));

    /// <summary>The node is stopping: everything NOT_SERVING, for good.</summary>
    public void Stopping()
    {
        lock (gate)
        {
            stopped = true;
            Show(Node, false);
            Show(Stream, false);
            Show(Peer, false);
        }
    }

    private void Show(string name, bool serving)
    {
        if (shown.TryGetValue(name, out var was) && was == serving) return;
        var first = !shown.ContainsKey(name);
        shown[name] = serving;
        if (!first || serving) Log.HealthChanged(logger, name.Length == 0 ? "node (\"\")" : name, serving ? "SERVING" : "NOT_SERVING");
        service.SetStatus(name, serving ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing);
    }
}
