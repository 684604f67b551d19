using Braid.Core.Topology;

namespace Braid.Node;

/// <summary>How one node process runs.</summary>
/// <param name="Incarnation">Distinguishes this process life from earlier ones of the same node
/// (unix milliseconds at start); link-state adverts of a restarted node win over older ones.</param>
/// <param name="RetainBytes">Log bytes each partition replica keeps; older whole segments are
/// compacted into a snapshot and deleted. 0 keeps everything.</param>
/// <param name="SegmentBytes">Log segment size (the unit retention deletes).</param>
public sealed record NodeOptions(
    ClusterTopology Topology,
    string NodeId,
    string DataDirectory,
    bool AllowFaultInjection,
    ulong Incarnation,
    int Partitions = 12,
    int Replicas = 3,
    long RetainBytes = 0,
    long SegmentBytes = NodeOptions.DefaultSegmentBytes)
{
    public const long DefaultSegmentBytes = 64L << 20;

    /// <summary>The data directory held a placement record before this start: the node had
    /// replicas, so a replica whose folder is empty lost its state (Raft amnesia, issue 11).</summary>
    public bool HadPlacementRecord { get; init; }

    /// <summary>
    /// The node joins a cluster that already runs (etcd's <c>--initial-cluster-state existing</c>):
    /// it held replicas before, so an empty data folder means its state was lost (a wiped or
    /// replaced disk) and each replica rejoins without a vote until it has caught up, even though
    /// the placement record went with the folder. False for the first start of a new cluster.
    /// </summary>
    public bool JoinsExisting { get; init; }

    /// <summary>Mutual TLS for links and clients (issue 11); null serves plaintext (--insecure).</summary>
    public Security.NodeTls? Tls { get; init; }

    /// <summary>Port of the Prometheus scrape endpoint (plaintext HTTP/1.1, path /metrics, on the
    /// node's host address; --metrics-port). 0: no endpoint (the meters still exist for dotnet-counters).</summary>
    public int MetricsPort { get; init; }

    /// <summary>How long the metadata leader waits, with no route to a node, before it declares the
    /// node dead and moves its replicas to other nodes (issue 12; --dead-after, default 5 minutes,
    /// as CockroachDB's server.time_until_store_dead).</summary>
    public TimeSpan DeadAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The graph the cluster started from, when this node is not in it (a node added to
    /// the running cluster, issue 12: <see cref="Topology"/> is this graph plus the node and its
    /// edges). First placements (the default stream's, the metadata group's) are computed on it, so
    /// every node computes the same ones. Null: <see cref="Topology"/> is the cluster's first graph.</summary>
    public ClusterTopology? BaseTopology { get; init; }

    /// <summary>The graph first placements are computed on (see <see cref="BaseTopology"/>).</summary>
    public ClusterTopology PlacementTopology => BaseTopology ?? Topology;

    /// <summary>Test hook: runs on the partition loop once the replicas are open and before their
    /// committed entries are applied, i.e. in the middle of replay (a test holds replay there).</summary>
    internal Action? ReplayHook { get; init; }
}
