namespace Braid.Cli.Status;

/// <summary>
/// What <c>braid status</c> saw of a cluster at one moment, assembled from every node's own
/// answers (Admin.Status and Stream.Describe). Serialized as is by <c>--json</c>: the property
/// names (snake_case) are a stable interface, and a value a node did not give is null, never left out.
/// </summary>
/// <param name="Source">Where the node list came from: "local DIR" or "seeds ADDR,...".</param>
/// <param name="Healthy">Every node answered, every partition has a leader and no alarm is on.</param>
internal sealed record ClusterStatusReport(
    string Source,
    DateTimeOffset TakenAt,
    bool Healthy,
    IReadOnlyList<NodeReport> Nodes,
    IReadOnlyList<PartitionReport> Partitions,
    IReadOnlyList<AlarmReport> Alarms);

/// <param name="State">"up" when the node answered at least one of the two calls, else "unreachable".</param>
/// <param name="Error">Why a call failed (the node may still be up when only one failed).</param>
/// <param name="Process">Local clusters only: running, paused or dead (null for a remote cluster).</param>
/// <param name="Unreachable">Nodes this node has no route to.</param>
internal sealed record NodeReport(
    string Id,
    string Address,
    string? Site,
    string State,
    string? Error,
    ulong? Incarnation,
    long? UptimeMs,
    int? Pid,
    string? Version,
    string? Process,
    IReadOnlyList<LinkReport> Links,
    IReadOnlyList<RouteReport> Routes,
    IReadOnlyList<string> Unreachable)
{
    public const string Up = "up";
    public const string Down = "unreachable";
}

/// <param name="Phi">The failure detector's suspicion of the neighbour (null when not a finite number).</param>
/// <param name="Fault">A fault injected on the link, null when none.</param>
internal sealed record LinkReport(string Neighbour, bool Alive, bool Connected, double? Phi, string? Fault);

internal sealed record RouteReport(string Destination, string NextHop, uint Hops);

/// <param name="Leader">The replica that describes itself as leader with the highest term; failing
/// that, the leader named by the replica with the highest term; null when none is known.</param>
/// <param name="LeaderAnswered">The leader itself answered (its commit index is then the reference for lag).</param>
/// <param name="CommitIndex">The leader's commit index, or the highest one a replica reported.</param>
/// <param name="MaxLag">The largest lag among the replicas that answered.</param>
internal sealed record PartitionReport(
    uint Partition,
    string? Leader,
    bool LeaderAnswered,
    ulong Term,
    ulong CommitIndex,
    ulong? MaxLag,
    IReadOnlyList<ReplicaReport> Replicas);

/// <summary>One replica of a partition as its own node described it (null fields: it did not answer).</summary>
/// <param name="Role">Follower, PreCandidate, Candidate, Leader or Failed.</param>
/// <param name="Lag">The partition's commit index minus this replica's applied index (0 when ahead).</param>
/// <param name="NoSpaceAlarm">Why the replica's NOSPACE alarm is on; null when off.</param>
internal sealed record ReplicaReport(
    string Node,
    bool Answered,
    string? Role,
    ulong? Term,
    ulong? CommitIndex,
    ulong? AppliedIndex,
    ulong? Lag,
    ulong? RecordCount,
    string? NoSpaceAlarm,
    bool Recovering);

/// <param name="Kind">unreachable, no_leader, nospace, recovering or failed.</param>
internal sealed record AlarmReport(string Kind, string? Node, uint? Partition, string Detail)
{
    public const string Unreachable = "unreachable";
    public const string NoLeader = "no_leader";
    public const string NoSpace = "nospace";
    public const string Recovering = "recovering";
    public const string Failed = "failed";
}
