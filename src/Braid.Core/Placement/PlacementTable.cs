using Braid.Core.Topology;

namespace Braid.Core.Placement;

/// <summary>Where one partition's Raft group lives.</summary>
/// <param name="Partition">Partition number, 0-based.</param>
/// <param name="Replicas">Replica node ids; the first is the preferred leader.</param>
public sealed record PartitionPlacement(int Partition, IReadOnlyList<string> Replicas)
{
    /// <summary>The replica that should lead when it is healthy, so leadership (and the write load
    /// a leader carries) stays spread over the nodes instead of piling up where elections fell.</summary>
    public string PreferredLeader => Replicas[0];

    /// <summary>Value equality over the replica list (a record alone would compare list references).</summary>
    public bool Equals(PartitionPlacement? other) =>
        other is not null && Partition == other.Partition && Replicas.SequenceEqual(other.Replicas, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Partition, string.Join(",", Replicas));

    public override string ToString() => $"p{Partition}: {string.Join(" ", Replicas)}";
}

/// <summary>
/// The output of <see cref="PlacementPlanner.Plan"/>: the replica list of every partition, plus
/// the questions operators ask of it (what stays writable when a node dies, how loaded each
/// node is). Immutable.
/// </summary>
public sealed class PlacementTable
{
    private readonly OverlayAnalysis overlay;

    internal PlacementTable(ClusterTopology topology, OverlayAnalysis overlay, int replicas, IReadOnlyList<PartitionPlacement> partitions)
    {
        Topology = topology;
        this.overlay = overlay;
        ReplicaCount = replicas;
        Partitions = partitions;
    }

    /// <summary>The topology the table was planned for; writability is judged on its graph.</summary>
    public ClusterTopology Topology { get; }

    /// <summary>Replicas per partition (R).</summary>
    public int ReplicaCount { get; }

    /// <summary>Votes a partition needs to elect a leader and commit: a majority of R (R/2 + 1).</summary>
    public int Quorum => ReplicaCount / 2 + 1;

    /// <summary>All partitions in partition order.</summary>
    public IReadOnlyList<PartitionPlacement> Partitions { get; }

    public PartitionPlacement this[int partition] => Partitions[CheckPartition(partition)];

    /// <summary>
    /// True when, with <paramref name="failedNode"/> down, a majority of the partition's surviving
    /// replicas can still reach each other through the surviving overlay (through any nodes,
    /// replicas or not), so the group can elect a leader and commit writes.
    /// </summary>
    public bool IsWritableAfterFailure(int partition, string failedNode)
    {
        var components = overlay.ComponentsAfterNodeFailure(overlay.IndexOf(failedNode));
        var members = this[partition].Replicas.Select(overlay.IndexOf).ToArray();
        return OverlayAnalysis.HasConnectedQuorum(members, components, Quorum);
    }

    /// <summary>The partitions that keep a connected majority when <paramref name="failedNode"/> dies.</summary>
    public IReadOnlyList<int> WritableAfterFailure(string failedNode)
    {
        overlay.IndexOf(failedNode);
        return Partitions.Where(p => IsWritableAfterFailure(p.Partition, failedNode)).Select(p => p.Partition).ToArray();
    }

    /// <summary>Every split of the network between sites (see <see cref="WritableAfterSiteSplit"/>), as the sites on each side.</summary>
    public IReadOnlyList<(string[] One, string[] Other)> SiteSplits => overlay.SiteSplits.Select(overlay.SidesOf).ToArray();

    /// <summary>
    /// The partitions that keep, on one side of site split <paramref name="split"/> (an index into
    /// <see cref="SiteSplits"/>), a majority of replicas that reach each other without crossing it:
    /// what stays writable while the network between those computers is cut.
    /// </summary>
    public IReadOnlyList<int> WritableAfterSiteSplit(int split)
    {
        var components = overlay.ComponentsAfterSiteSplit[split];
        return Partitions.Where(p => OverlayAnalysis.HasConnectedQuorum(p.Replicas.Select(overlay.IndexOf).ToArray(), components, Quorum))
            .Select(p => p.Partition).ToArray();
    }

    /// <summary>How many partitions place a replica on <paramref name="node"/>.</summary>
    public int ReplicasOn(string node)
    {
        overlay.IndexOf(node);
        return Partitions.Count(p => p.Replicas.Contains(node, StringComparer.Ordinal));
    }

    /// <summary>How many partitions prefer <paramref name="node"/> as their leader.</summary>
    public int PreferredLeadersOn(string node)
    {
        overlay.IndexOf(node);
        return Partitions.Count(p => string.Equals(p.PreferredLeader, node, StringComparison.Ordinal));
    }

    /// <summary>The sites of a partition's replicas, in replica order.</summary>
    public IReadOnlyList<string> SitesOf(int partition) =>
        this[partition].Replicas.Select(id => overlay.Sites[overlay.IndexOf(id)]).ToArray();

    private int CheckPartition(int partition) =>
        partition >= 0 && partition < Partitions.Count
            ? partition
            : throw new ArgumentOutOfRangeException(nameof(partition), partition, $"partitions are 0..{Partitions.Count - 1}");
}
