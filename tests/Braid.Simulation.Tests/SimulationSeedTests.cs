using Braid.Core.Topology;

namespace Braid.Simulation.Tests;

/// <summary>The simulator as the main test: many seeded fault schedules, every invariant checked.</summary>
public sealed class SimulationSeedTests
{
    internal static ClusterTopology Load(string name) =>
        TopologyLoader.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "topologies", name + ".json")), name + ".json");

    private static void AssertClean(SimSummary summary, string topology)
    {
        if (summary.Failures.Count == 0) return;
        Assert.Fail(
            $"{summary.Failures.Count} of {summary.Seeds} seeds failed on {topology}; first: seed {summary.Failures[0].Seed}: "
            + string.Join("; ", summary.Failures[0].Violations)
            + $" (replay: braid sim --topology {topology} --seeds {summary.Failures[0].Seed} --trace)");
    }

    [Fact]
    public void Two_hundred_seeds_on_mini2_with_every_fault_kind_keep_every_invariant()
    {
        // Faults: message drop, duplication, delay and reordering; cut links (both ways and one
        // way); symmetric and one-way partitions; node crashes that lose unsynced writes or tear
        // the last one, and restarts. Then heal: every pending proposal must be acknowledged
        // within the liveness bound, and every acknowledged record be on every replica once.
        var options = new SimOptions();
        var summary = SimRunner.RunMany(Load("mini2"), 1, 200, options);
        AssertClean(summary, "mini2");
        Assert.True(summary.Acked > 200 * 50, $"the workload barely ran: {summary.Acked} acknowledged records");
        Assert.True(summary.Retries > 0, "no retries at all: the faults did not bite");
        // Replicas keep 4 KiB of log: they compact often, and followers back from a crash or a
        // partition catch up from the leader's snapshot.
        Assert.True(summary.Compactions > 200, $"only {summary.Compactions} compactions");
        Assert.True(summary.SnapshotsInstalled > 10, $"only {summary.SnapshotsInstalled} snapshots installed");
        // The query workload ran: queries resumed page by page at other replicas, each checked
        // against its snapshot (a few may be overtaken by retention; most must finish).
        Assert.True(summary.Queries.Completed > 200, $"only {summary.Queries.Completed} queries checked");
        Assert.True(summary.Queries.Pages > 10 * summary.Queries.Completed, $"only {summary.Queries.Pages} pages for {summary.Queries.Completed} queries");
        Assert.True(summary.Queries.Trimmed < summary.Queries.Completed / 5, $"{summary.Queries.Trimmed} of {summary.Queries.Completed} queries overtaken by retention");
    }

    [Theory]
    [InlineData("mini2", false)]
    [InlineData("mini2", true)]
    [InlineData("mini2-9", false)]
    public void Membership_changes_and_automatic_re_replication_under_every_fault_kind_keep_every_invariant(string topology, bool diskFaults)
    {
        // Issue 12: a controller in place of the metadata group replaces, adds and removes
        // replicas and moves every replica of a node down over 2 s, while every fault kind strikes.
        // Checked: one leader per term, one committed entry per index (configurations included),
        // consecutive committed configurations change one voter at most, every acknowledged record
        // on every replica (new ones included) exactly once, and after healing every group's
        // committed configuration is its target.
        var options = new SimOptions { Membership = true, DiskFaults = diskFaults };
        var summary = SimRunner.RunMany(Load(topology), 1, 60, options);
        AssertClean(summary, topology);
        Assert.True(summary.Membership.Steps > 60 * 5, $"only {summary.Membership.Steps} membership steps");
        Assert.True(summary.Membership.ConfigurationsCommitted > 60 * 5, $"only {summary.Membership.ConfigurationsCommitted} configurations committed");
        Assert.True(summary.Membership.NodesDeclaredDead > 10, $"only {summary.Membership.NodesDeclaredDead} nodes declared dead");
        Assert.True(summary.Acked > 60 * 50, $"the workload barely ran: {summary.Acked} acknowledged records");
    }

    [Fact]
    public void Full_and_damaged_disks_keep_every_invariant()
    {
        // Besides every other fault, nodes' disks fill up and get space back: full replicas
        // refuse writes with the NOSPACE alarm and resume by themselves; and a stopped node's
        // file gets a bit flipped: it is quarantined at start and the replica rejoins without a
        // vote until caught up. Nothing acknowledged is lost or stored twice, and after healing
        // every pending append completes.
        var summary = SimRunner.RunMany(Load("mini2"), 1, 100, new SimOptions { DiskFaults = true });
        AssertClean(summary, "mini2");
        Assert.True(summary.Acked > 100 * 50, $"the workload barely ran: {summary.Acked} acknowledged records");
        // Which seeds show both effects shifts whenever the core changes its message pattern: look at 30.
        var traced = Enumerable.Range(1, 30).Select(seed => SimRunner.RunOne(Load("mini2"), seed, new SimOptions { DiskFaults = true, Trace = true })).ToList();
        // The faults bite: a full disk raises the alarm and the replica resumes by itself...
        Assert.Contains(traced, r => r.Trace.Contains("NOSPACE alarm raised") && r.Trace.Contains("NOSPACE alarm cleared"));
        // ...and a quarantined sealed segment is caught up, after which the replica votes again.
        Assert.Contains(traced, r => r.Trace.Contains("lost state: log segments were damaged") && r.Trace.Contains("caught up after lost state"));
    }

    [Fact]
    public void Without_compaction_the_same_seeds_also_keep_every_invariant()
    {
        var summary = SimRunner.RunMany(Load("mini2"), 1, 40, new SimOptions { RetainBytes = 0 });
        AssertClean(summary, "mini2 without compaction");
        Assert.Equal((0L, 0L), (summary.Compactions, summary.SnapshotsInstalled));
    }

    [Theory]
    [InlineData("mesh3")]
    [InlineData("grid3x3")]
    [InlineData("mini2-9")]
    public void Other_topologies_keep_every_invariant(string topology) =>
        AssertClean(SimRunner.RunMany(Load(topology), 1, 40, new SimOptions()), topology);

    [Fact]
    public void The_same_seed_gives_the_same_trace()
    {
        var a = SimRunner.RunOne(Load("mini2"), 42, new SimOptions { Trace = true });
        var b = SimRunner.RunOne(Load("mini2"), 42, new SimOptions { Trace = true });
        var c = SimRunner.RunOne(Load("mini2"), 43, new SimOptions { Trace = true });
        Assert.Equal(a.TraceHash, b.TraceHash);
        Assert.Equal(a.Trace, b.Trace);
        Assert.Equal(a.Acked, b.Acked);
        Assert.NotEqual(a.TraceHash, c.TraceHash);
        Assert.Contains("crash", a.Trace + c.Trace);
    }

    [Fact]
    public void Without_faults_nothing_is_retried_and_everything_is_acknowledged()
    {
        var result = SimRunner.RunOne(Load("mini2"), 5, new SimOptions { Faults = false });
        Assert.True(result.Ok, string.Join("; ", result.Violations));
        Assert.True(result.Acked > 500, $"only {result.Acked} acknowledged");
    }
}

/// <summary>Instant crash failover (issue 14, item 6) in the simulator: the same core rule the node
/// host runs, fed by a failure detector that sees the network the simulator models.</summary>
public sealed class SimulationFailoverTests
{
    /// <summary>Simulated milliseconds from a crash of group 0's leader to a new leader of group 0.</summary>
    private static double FailoverMs(bool instant, int seed)
    {
        var topology = SimulationSeedTests.Load("mesh3");
        var options = new SimOptions { Faults = false, Queries = false, InstantFailover = instant };
        var sim = new Simulation(topology, SimRunner.Groups(topology, options), seed, options);
        sim.Start();
        sim.RunUntil(3_000_000);
        string? Leader() => sim.Nodes.Values.Where(n => n.Up)
            .Select(n => n.Replicas.GetValueOrDefault(0u)?.Replica).FirstOrDefault(r => r?.Raft.Role == Core.Raft.RaftRole.Leader)?.Raft.Id;
        var old = Leader() ?? throw new InvalidOperationException("no leader of group 0 after 3 s");
        sim.CrashNode(sim.Nodes[old]);
        var crashedAt = sim.Now;
        while (Leader() is null && sim.Now < crashedAt + 10_000_000) sim.RunUntil(sim.Now + 1_000);
        Assert.NotNull(Leader());
        Assert.NotEqual(old, Leader());
        return (sim.Now - crashedAt) / 1000.0;
    }

    [Fact]
    public void A_follower_campaigns_at_once_when_the_detector_finds_the_leader_unreachable()
    {
        var instant = Enumerable.Range(1, 9).Select(seed => FailoverMs(true, seed)).Order().ToList();
        var waiting = Enumerable.Range(1, 9).Select(seed => FailoverMs(false, seed)).Order().ToList();
        // At most a tick (50 ms) for the detector plus a few message delays, against the election
        // timeout (0.5 to 1 s) without it.
        Assert.True(instant[4] <= 100, $"instant failover median {instant[4]} ms: {string.Join(", ", instant)}");
        Assert.True(waiting[4] >= 500, $"without it, median {waiting[4]} ms: {string.Join(", ", waiting)}");
    }
}

/// <summary>Quiescence (issue 14, item 5) in the simulator: an idle group stops heartbeating, and
/// still fails over at once when its leader dies (the failure detector, not a timer, notices).</summary>
public sealed class SimulationQuiescenceTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void An_idle_group_quiesces_and_still_fails_over_when_its_leader_is_killed(int seed)
    {
        var topology = SimulationSeedTests.Load("mini2");
        var options = new SimOptions { Faults = false, Queries = false, Producers = 0 };
        var sim = new Simulation(topology, SimRunner.Groups(topology, options), seed, options);
        sim.Start();
        sim.RunUntil(5_000_000);
        var replicas = sim.Nodes.Values.SelectMany(n => n.Replicas.Values).Select(r => r.Replica!).ToList();
        Assert.All(replicas, r => Assert.True(r.Raft.Quiescent, $"{r.Raft.Id}/g{r.Partition} not quiescent ({r.Raft.Role})"));
        var delivered = sim.MessagesDelivered;
        sim.RunUntil(10_000_000);
        Assert.Equal(delivered, sim.MessagesDelivered); // five idle seconds, not one message

        var leader = replicas.Single(r => r.Partition == 0 && r.Raft.Role == Core.Raft.RaftRole.Leader);
        sim.CrashNode(sim.Nodes[leader.Raft.Id]);
        var crashedAt = sim.Now;
        Core.Streams.PartitionReplica? next = null;
        while (next is null && sim.Now < crashedAt + 5_000_000)
        {
            sim.RunUntil(sim.Now + 1_000);
            next = sim.Nodes.Values.Where(n => n.Up).Select(n => n.Replicas.GetValueOrDefault(0u)?.Replica)
                .FirstOrDefault(r => r?.Raft.Role == Core.Raft.RaftRole.Leader);
        }
        Assert.NotNull(next);
        Assert.True(sim.Now - crashedAt <= 150_000, $"new leader after {(sim.Now - crashedAt) / 1000.0} ms");
    }
}
