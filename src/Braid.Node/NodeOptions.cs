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
}
