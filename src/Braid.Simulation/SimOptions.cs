namespace Braid.Simulation;

/// <summary>What one simulated run does. Times are simulated; rates are per message or per second.</summary>
public sealed record SimOptions
{
    public int Groups { get; init; } = 3;
    public int Replicas { get; init; } = 3;
    /// <summary>Producers, one group each in turn: the first of each group keeps one batch in flight, the next three.</summary>
    public int Producers { get; init; } = 4;

    /// <summary>Faults are injected during this long; then everything heals.</summary>
    public TimeSpan FaultPhase { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After healing, every pending proposal must be acknowledged within this bound (liveness).</summary>
    public TimeSpan LivenessBound { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(50);
    public TimeSpan ProposalTimeout { get; init; } = TimeSpan.FromMilliseconds(800);

    public bool Faults { get; init; } = true;

    /// <summary>Also fill and free nodes' disks during the fault phase (ENOSPC, the NOSPACE
    /// alarm). Off by default so that the other runs keep their seeds' traces.</summary>
    public bool DiskFaults { get; init; }

    /// <summary>Run the query workload: queries paged across faults, resumed at other replicas.</summary>
    public bool Queries { get; init; } = true;
    public double DropRate { get; init; } = 0.03;
    public double DuplicateRate { get; init; } = 0.02;
    public TimeSpan HopDelayMax { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Extra random delay per message, which reorders messages.</summary>
    public TimeSpan JitterMax { get; init; } = TimeSpan.FromMilliseconds(30);

    /// <summary>Mean time between injected faults (crash, restart, cut, partition, heal).</summary>
    public TimeSpan FaultEvery { get; init; } = TimeSpan.FromMilliseconds(700);

    /// <summary>Log segment size. Small, so that retention drops segments within a run.</summary>
    public long SegmentBytes { get; init; } = 2 * 1024;

    /// <summary>Log bytes each replica keeps (0: never compact). Small, so that replicas compact
    /// often and followers back from a crash or a partition need a snapshot.</summary>
    public long RetainBytes { get; init; } = 4 * 1024;

    /// <summary>Entries after which an idle producer is forgotten (the partitions' dedup table bound).</summary>
    public ulong ProducerIdleEntries { get; init; } = Core.Streams.PartitionState.DefaultProducerIdleEntries;

    public long CheckpointEveryBytes { get; init; } = 512;

    /// <summary>Change groups' memberships during the fault phase (issue 12): replicas replaced,
    /// added and removed by a controller standing in for the metadata group, and every replica of a
    /// node down longer than <see cref="DeadAfter"/> replaced (automatic re-replication). Leaders
    /// move their groups one server at a time, as the node host drives them. Off by default so the
    /// other runs keep their seeds' traces.</summary>
    public bool Membership { get; init; }

    /// <summary>With <see cref="Membership"/>: how long a node stays down before its replicas move.</summary>
    public TimeSpan DeadAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Keep a readable trace (slower; for replaying one seed).</summary>
    public bool Trace { get; init; }

    /// <summary>Model the node host's instant failover: at each tick a node compares which nodes
    /// the network leaves it no route to with its last view, and tells its replicas of each newly
    /// unreachable one (as the overlay's RoutesChanged does), so followers of a dead leader campaign
    /// at once. On by default: what ships is what the simulator runs.</summary>
    public bool InstantFailover { get; init; } = true;
}
