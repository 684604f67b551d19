namespace Braid.Node.Metrics;

/// <summary>What the partition loop last saw of one running replica.</summary>
/// <param name="Leader">The leader this replica knows (itself included), or null.</param>
/// <param name="Lags">On a leader: entries each follower is behind its last index (empty otherwise).</param>
internal sealed record PartitionSample(
    uint Partition, ulong Term, string? Leader, bool IsLeader, ulong CommitIndex, ulong AppliedIndex, ulong LastIndex,
    long LogBytes, long Batches, bool NoSpace, IReadOnlyList<(string Follower, ulong Lag)> Lags);

/// <summary>The partition loop's view of every replica of this node: the running ones and how many are failed.</summary>
internal sealed record PartitionsSample(IReadOnlyList<PartitionSample> Running, int Failed)
{
    public static PartitionsSample Empty { get; } = new([], 0);
}

/// <summary>One overlay link as the failure detector last saw it.</summary>
internal readonly record struct NeighbourSample(string Id, bool Alive, double Phi);

/// <summary>The overlay loop's view: links, the nodes it has a route to (itself included) and its envelope counters.</summary>
internal sealed record OverlaySample(
    IReadOnlyList<NeighbourSample> Neighbours, IReadOnlySet<string> Reachable, long Forwarded, long DroppedNoRoute, long DroppedTtl, long Refused)
{
    public static OverlaySample Empty { get; } = new([], new HashSet<string>(), 0, 0, 0, 0);

    public int LinksUp => Neighbours.Count(n => n.Alive);
}

/// <summary>
/// The latest samples the two loops publish (each a whole immutable record, swapped atomically),
/// read by observable gauges on the exporter's thread and by the health rule. Core objects are
/// single-owner: nothing outside their loop reads them directly.
/// </summary>
internal sealed class NodeSamples
{
    private PartitionsSample partitions = PartitionsSample.Empty;
    private OverlaySample overlay = OverlaySample.Empty;

    public PartitionsSample Partitions
    {
        get => Volatile.Read(ref partitions);
        set => Volatile.Write(ref partitions, value);
    }

    public OverlaySample Overlay
    {
        get => Volatile.Read(ref overlay);
        set => Volatile.Write(ref overlay, value);
    }
}
