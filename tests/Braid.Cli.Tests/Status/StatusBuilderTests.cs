using Braid.Cli.Status;
using Braid.Protocol.V1;

namespace Braid.Cli.Tests.Status;

/// <summary>How <c>braid status</c> turns each node's own answers into leaders, lag and alarms.</summary>
public sealed class StatusBuilderTests
{
    private static readonly DateTimeOffset At = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static PartitionDescription Described(uint partition, string role, ulong term, ulong commit, ulong applied, string leader = "", string[]? replicas = null)
    {
        var d = new PartitionDescription { Partition = partition, LocalRole = role, Term = term, CommitIndex = commit, AppliedIndex = applied, Leader = leader, RecordCount = applied * 10 };
        d.Replicas.AddRange(replicas ?? ["A", "B", "C"]);
        return d;
    }

    [Theory]
    [InlineData(100ul, 100ul, 0ul)]
    [InlineData(100ul, 93ul, 7ul)]
    [InlineData(100ul, 0ul, 100ul)]
    [InlineData(5ul, 9ul, 0ul)] // applied past a stale reference: no negative lag, no wrap-around
    public void Lag_is_the_commit_index_minus_the_applied_index_never_below_zero(ulong commit, ulong applied, ulong lag) =>
        Assert.Equal(lag, StatusBuilder.Lag(commit, applied));

    [Fact]
    public void Lag_of_every_replica_is_measured_from_the_leaders_own_commit_index()
    {
        var own = new Dictionary<string, PartitionDescription>
        {
            ["A"] = Described(0, "Leader", 4, 120, 118, "A"),
            ["B"] = Described(0, "Follower", 4, 115, 110, "A"),
            ["C"] = Described(0, "Follower", 4, 120, 120, "A"),
        };
        var p = StatusBuilder.Partition(0, ["A", "B", "C"], own);
        Assert.Equal("A", p.Leader);
        Assert.True(p.LeaderAnswered);
        Assert.Equal(4ul, p.Term);
        Assert.Equal(120ul, p.CommitIndex);
        Assert.Equal([2ul, 10ul, 0ul], p.Replicas.Select(r => r.Lag!.Value));
        Assert.Equal(10ul, p.MaxLag);
        Assert.Equal(1100ul, p.Replicas[1].RecordCount);
    }

    [Fact]
    public void A_deposed_leader_that_still_says_so_at_an_older_term_is_not_the_leader()
    {
        var own = new Dictionary<string, PartitionDescription>
        {
            ["A"] = Described(1, "Leader", 3, 50, 50, "A"),   // cut off, has not heard of term 5
            ["B"] = Described(1, "Leader", 5, 64, 60, "B"),
            ["C"] = Described(1, "Follower", 5, 64, 64, "B"),
        };
        var p = StatusBuilder.Partition(1, ["A", "B", "C"], own);
        Assert.Equal("B", p.Leader);
        Assert.Equal(5ul, p.Term);
        Assert.Equal(64ul, p.CommitIndex);
        Assert.Equal(14ul, p.Replicas.Single(r => r.Node == "A").Lag);
        Assert.Equal(14ul, p.MaxLag);
    }

    [Fact]
    public void When_the_leader_does_not_answer_the_highest_term_replica_names_it_and_the_highest_commit_is_the_reference()
    {
        var own = new Dictionary<string, PartitionDescription>
        {
            ["B"] = Described(2, "Follower", 6, 90, 88, "C"),
            ["A"] = Described(2, "Follower", 5, 80, 80, "A"), // stale: still believes in an old leader
        };
        var p = StatusBuilder.Partition(2, ["A", "B", "C"], own);
        Assert.Equal("C", p.Leader);
        Assert.False(p.LeaderAnswered);
        Assert.Equal(6ul, p.Term);
        Assert.Equal(90ul, p.CommitIndex);
        var c = p.Replicas.Single(r => r.Node == "C");
        Assert.False(c.Answered);
        Assert.Null(c.Lag);
        Assert.Null(c.Role);
        Assert.Equal([10ul, 2ul], p.Replicas.Where(r => r.Answered).Select(r => r.Lag!.Value));
    }

    [Fact]
    public void No_leader_anywhere_leaves_the_leader_null()
    {
        var own = new Dictionary<string, PartitionDescription> { ["A"] = Described(3, "Candidate", 9, 10, 10) };
        var p = StatusBuilder.Partition(3, ["A", "B", "C"], own);
        Assert.Null(p.Leader);
        Assert.Equal(9ul, p.Term);
    }

    [Fact]
    public void A_failed_replica_has_no_raft_figures_and_is_never_the_leader()
    {
        var own = new Dictionary<string, PartitionDescription>
        {
            ["A"] = new() { Partition = 0, LocalRole = "Failed", Replicas = { "A", "B", "C" } },
            ["B"] = Described(0, "Leader", 2, 30, 30, "B"),
        };
        var p = StatusBuilder.Partition(0, ["A", "B", "C"], own);
        Assert.Equal("B", p.Leader);
        var a = p.Replicas.Single(r => r.Node == "A");
        Assert.True(a.Answered);
        Assert.Equal("Failed", a.Role);
        Assert.Null(a.AppliedIndex);
        Assert.Null(a.Lag);
    }

    [Fact]
    public void The_cluster_view_marks_silent_nodes_unreachable_and_raises_one_alarm_per_problem()
    {
        StatusTarget[] targets = [new("A", "127.0.0.1:1", "running"), new("B", "127.0.0.1:2", "running"), new("C", "127.0.0.1:3", "dead")];
        var answers = new Dictionary<string, NodeAnswer>
        {
            ["A"] = new(Status("A", 1500, ("B", true, 0.4), ("C", false, 1e9)), Describe("A",
                Described(0, "Leader", 2, 40, 40, "A"),
                Described(1, "Follower", 2, 40, 31, "B", ["B", "A", "C"])), null),
            ["B"] = new(Status("B", 700, ("A", true, 0.2), ("C", false, 1e9)), Describe("B",
                Described(0, "Follower", 2, 40, 40, "A"),
                WithAlarms(Described(1, "Leader", 2, 45, 45, "B", ["B", "A", "C"]), noSpace: "disk full on /data", recovering: true)), "status: slow"),
            ["C"] = new(null, null, "Unavailable: Connection refused"),
        };
        var report = StatusBuilder.Build("seeds 127.0.0.1:1", At, targets, answers);

        Assert.False(report.Healthy);
        Assert.Equal(["up", "up", "unreachable"], report.Nodes.Select(n => n.State));
        Assert.Equal(["site-A", "site-B", "site-C"], report.Nodes.Select(n => n.Site));
        var a = report.Nodes[0];
        Assert.Equal(1500ul, a.Incarnation);
        Assert.Equal(1500L * 1000, a.UptimeMs);
        Assert.Equal(["B", "C"], a.Links.Select(l => l.Neighbour));
        Assert.Equal([true, false], a.Links.Select(l => l.Alive));
        Assert.Equal(["C"], a.Unreachable);
        Assert.Equal("dead", report.Nodes[2].Process);
        Assert.Null(report.Nodes[2].Incarnation);

        Assert.Equal([0u, 1u], report.Partitions.Select(p => p.Partition));
        Assert.Equal(["A", "B"], report.Partitions.Select(p => p.Leader));
        Assert.Equal(["B", "A", "C"], report.Partitions[1].Replicas.Select(r => r.Node));
        Assert.Equal(14ul, report.Partitions[1].Replicas.Single(r => r.Node == "A").Lag);

        var expected = new (string, string?, uint?)[] { ("unreachable", "C", null), ("nospace", "B", 1), ("recovering", "B", 1) };
        Assert.Equal(expected, report.Alarms.Select(x => (x.Kind, x.Node, x.Partition)));
        Assert.Contains("Connection refused", report.Alarms[0].Detail);
    }

    [Fact]
    public void A_cluster_whose_every_node_answers_well_is_healthy()
    {
        StatusTarget[] targets = [new("A", "a:1"), new("B", "b:1")];
        string[] replicas = ["A", "B"];
        var answers = new Dictionary<string, NodeAnswer>
        {
            ["A"] = new(Status("A", 1, ("B", true, 0.1)), Describe("A", Described(0, "Leader", 1, 3, 3, "A", replicas)), null),
            ["B"] = new(Status("B", 1, ("A", true, 0.1)), Describe("B", Described(0, "Follower", 1, 3, 3, "A", replicas)), null),
        };
        var report = StatusBuilder.Build("local d", At, targets, answers);
        Assert.True(report.Healthy);
        Assert.Empty(report.Alarms);
        Assert.Equal(0ul, report.Partitions.Single().MaxLag);
    }

    [Fact]
    public void A_partition_without_a_known_leader_raises_no_leader()
    {
        StatusTarget[] targets = [new("A", "a:1")];
        var answers = new Dictionary<string, NodeAnswer>
        {
            ["A"] = new(null, Describe("A", Described(0, "PreCandidate", 7, 3, 3, "", ["A", "B", "C"])), "status: PermissionDenied: admin role needed"),
        };
        var report = StatusBuilder.Build("local d", At, targets, answers);
        Assert.Equal("up", report.Nodes.Single().State); // Describe answered: the node is up
        var alarm = Assert.Single(report.Alarms);
        Assert.Equal(("no_leader", (string?)null, (uint?)0u), (alarm.Kind, alarm.Node, alarm.Partition));
    }

    [Theory]
    [InlineData("Error starting gRPC call. HttpRequestException: Connection refused (127.0.0.1:7102) SocketException: Connection refused", "Connection refused")]
    [InlineData("Deadline Exceeded", "Deadline Exceeded")]
    public void A_grpc_detail_is_shortened_to_its_innermost_cause(string detail, string expected) =>
        Assert.Equal(expected, StatusCollector.Shorten(detail));

    internal static StatusReply Status(string id, ulong incarnation, params (string Id, bool Alive, double Phi)[] neighbours)
    {
        var reply = new StatusReply { NodeId = id, Incarnation = incarnation, UptimeMs = (long)incarnation * 1000, ProcessId = 42, Version = "0.1.0.0" };
        foreach (var n in neighbours) reply.Neighbours.Add(new NeighbourStatus { NodeId = n.Id, Alive = n.Alive, Connected = n.Alive, Phi = n.Phi });
        foreach (var n in neighbours.Where(n => !n.Alive)) reply.Unreachable.Add(n.Id);
        foreach (var n in neighbours.Where(n => n.Alive)) reply.Routes.Add(new RouteEntry { Destination = n.Id, NextHop = n.Id, Hops = 1 });
        return reply;
    }

    internal static DescribeReply Describe(string id, params PartitionDescription[] partitions)
    {
        var reply = new DescribeReply { NodeId = id, ReplicationFactor = 3 };
        foreach (var node in new[] { "A", "B", "C" }) reply.Nodes.Add(new NodeDescription { Id = node, Address = "x", Site = "site-" + node });
        reply.Partitions.AddRange(partitions);
        return reply;
    }

    private static PartitionDescription WithAlarms(PartitionDescription d, string noSpace, bool recovering)
    {
        d.NoSpaceAlarm = noSpace;
        d.Recovering = recovering;
        return d;
    }
}
