namespace Braid.Simulation;

/// <summary>The result of one seeded run.</summary>
public sealed record SimResult(int Seed, IReadOnlyList<string> Violations, long Acked, long Retries, long Messages, double SimulatedSeconds, ulong TraceHash, string Trace, long Compactions = 0, long SnapshotsInstalled = 0, SimQueryCounts Queries = default, SimMembershipCounts Membership = default)
{
    public bool Ok => Violations.Count == 0;
}

/// <summary>Membership changes in a seed (issue 12): steps leaders took, configurations committed,
/// nodes whose replicas moved because they stayed down (automatic re-replication).</summary>
public readonly record struct SimMembershipCounts(long Steps, long ConfigurationsCommitted, long NodesDeclaredDead)
{
    public static SimMembershipCounts operator +(SimMembershipCounts a, SimMembershipCounts b) =>
        new(a.Steps + b.Steps, a.ConfigurationsCommitted + b.ConfigurationsCommitted, a.NodesDeclaredDead + b.NodesDeclaredDead);
}

/// <summary>Queries run in a seed: completed (and checked), refused because retention overtook
/// them on every replica, and pages served.</summary>
public readonly record struct SimQueryCounts(long Completed, long Trimmed, long Pages)
{
    public static SimQueryCounts operator +(SimQueryCounts a, SimQueryCounts b) => new(a.Completed + b.Completed, a.Trimmed + b.Trimmed, a.Pages + b.Pages);
}

/// <summary>The standard run: faults, heal, liveness bound, catch-up, final checks.</summary>
public sealed partial class Simulation
{
    private static readonly TimeSpan CatchUp = TimeSpan.FromSeconds(3);

    public SimResult Run()
    {
        Start();
        StartWorkload();
        if (Options.Queries) StartQueries();
        if (Options.Faults) ScheduleFaults();
        if (Options.Membership) ScheduleMembership();
        RunUntil((long)Options.FaultPhase.TotalMicroseconds);
        Heal();
        StopWorkload();
        var healedAt = Now;
        var bound = healedAt + (long)Options.LivenessBound.TotalMicroseconds;
        while ((PendingProducers > 0 || ActiveQueries > 0) && Now < bound) RunUntil(Now + 100_000);
        if (PendingProducers > 0)
            Checker.Violation($"liveness: {PendingProducers} producers still unacknowledged {Options.LivenessBound.TotalSeconds} s after healing");
        if (ActiveQueries > 0)
            Checker.Violation($"liveness: {ActiveQueries} queries still unfinished {Options.LivenessBound.TotalSeconds} s after healing");
        RunUntil(Now + (long)CatchUp.TotalMicroseconds);
        if (Options.Membership) CheckMembershipConverged();
        Checker.CheckFinal(Nodes.Values.SelectMany(n => n.Replicas.Values.Select(r => (n.Id, r.Group, r.Replica))));
        return new SimResult(Seed, Checker.Violations, Acked, Retries, MessagesDelivered, Now / 1e6, TraceHash, TraceText, Compactions, SnapshotsInstalled, new SimQueryCounts(QueriesCompleted, QueriesTrimmed, QueryPages),
            new SimMembershipCounts(MembershipSteps, Checker.ConfigurationsCommitted, NodesDeclaredDead));
    }
}
