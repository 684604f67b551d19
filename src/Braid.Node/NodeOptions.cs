using Braid.Core.Topology;

namespace Braid.Node;

/// <summary>How one node process runs.</summary>
/// <param name="Incarnation">Distinguishes this process life from earlier ones of the same node
/// (unix milliseconds at start); link-state adverts of a restarted node win over older ones.</param>
public sealed record NodeOptions(
    ClusterTopology Topology,
    string NodeId,
    string DataDirectory,
    bool AllowFaultInjection,
    ulong Incarnation,
    int Partitions = 12,
    int Replicas = 3);
