using Braid.Cli.Lab;
using Braid.Protocol.V1;

namespace Braid.Cli.Tests.Lab;

public sealed class FaultBudgetTests
{
    // Partition 7 on B, A, F (as in the second long run); partition 3 on C, D, E.
    private static readonly (uint Partition, string[] Replicas)[] Placement = [(3, ["C", "D", "E"]), (7, ["B", "A", "F"])];

    private static readonly Dictionary<string, string> NoneDamaged = new();

    /// <summary>What <paramref name="node"/> answers to Describe: every partition, its own replicas open
    /// as followers, those in <paramref name="recovering"/> recovering.</summary>
    private static DescribeReply Reply(string node, (uint Partition, string[] Replicas)[] placement, params uint[] recovering)
    {
        var reply = new DescribeReply { NodeId = node, ReplicationFactor = (uint)placement[0].Replicas.Length };
        foreach (var (partition, replicas) in placement)
        {
            var d = new PartitionDescription { Partition = partition };
            d.Replicas.AddRange(replicas);
            if (replicas.Contains(node))
            {
                d.LocalRole = "Follower";
                d.Recovering = recovering.Contains(partition);
            }
            reply.Partitions.Add(d);
        }
        return reply;
    }

    private static Dictionary<string, DescribeReply?> AllHealthy() =>
        new[] { "A", "B", "C", "D", "E", "F" }.ToDictionary(n => n, n => (DescribeReply?)Reply(n, Placement));

    private static PlannedFault Fault(string kind) => new(kind, 880, 5, 1);

    [Fact]
    public void A_wipe_is_held_back_while_another_replica_recovers_and_the_reason_names_it()
    {
        var replies = AllHealthy();
        replies["B"] = Reply("B", Placement, recovering: 7);

        foreach (var kind in new[] { "wipe", "truncate", "bitflip" })
        {
            var decision = FaultBudget.Decide(Fault(kind), replies, NoneDamaged);
            Assert.True(decision.Hold, kind);
            Assert.False(decision.Permanent);
            Assert.Equal("replica B of partition 7 recovering", decision.Reason);
        }
        Assert.Equal(["B"], FaultBudget.Damaged(replies));
        Assert.False(FaultBudget.HasRecovered("B", replies["B"]));
    }

    [Fact]
    public void A_data_fault_goes_ahead_when_every_answering_replica_is_caught_up_and_a_silent_node_is_no_error()
    {
        var replies = AllHealthy();
        replies["D"] = null; // killed by an earlier fault, or slow: not an error
        var decision = FaultBudget.Decide(Fault("wipe"), replies, NoneDamaged);
        Assert.False(decision.Hold);
        Assert.Null(decision.Reason);
        Assert.Empty(FaultBudget.Damaged(replies));
    }

    [Fact]
    public void Faults_that_destroy_no_data_are_never_held_back()
    {
        var replies = AllHealthy();
        replies["B"] = Reply("B", Placement, recovering: 7);
        foreach (var kind in FaultPlan.Classes.Where(c => !FaultBudget.DataClasses.Contains(c)))
            Assert.False(FaultBudget.Decide(Fault(kind), replies, NoneDamaged).Hold, kind);
    }

    [Fact]
    public void A_damaged_node_holds_the_budget_until_it_answers_with_every_replica_open_and_caught_up()
    {
        var damaged = new Dictionary<string, string> { ["B"] = "wipe at 875.0 s" };

        // Still restarting: no answer.
        var replies = AllHealthy();
        replies["B"] = null;
        var silent = FaultBudget.Decide(Fault("truncate"), replies, damaged);
        Assert.True(silent.Hold);
        Assert.Equal("B (wipe at 875.0 s) not answering yet", silent.Reason);

        // Answering, but its replica of partition 7 is not open yet (it would say recovering once open).
        var opening = Reply("B", Placement);
        opening.Partitions.Single(p => p.Partition == 7).LocalRole = "";
        replies["B"] = opening;
        var unopened = FaultBudget.Decide(Fault("truncate"), replies, damaged);
        Assert.True(unopened.Hold);
        Assert.Contains("has not opened its replica of partition 7", unopened.Reason);
        Assert.False(FaultBudget.HasRecovered("B", opening));

        // Open and caught up: whole again, the next data fault may go.
        replies["B"] = Reply("B", Placement);
        Assert.True(FaultBudget.HasRecovered("B", replies["B"]));
        Assert.False(FaultBudget.Decide(Fault("truncate"), replies, new Dictionary<string, string>()).Hold);
    }

    [Fact]
    public void A_failed_replica_counts_as_losing_its_data()
    {
        var replies = AllHealthy();
        replies["F"]!.Partitions.Single(p => p.Partition == 7).LocalRole = "Failed";
        var decision = FaultBudget.Decide(Fault("bitflip"), replies, NoneDamaged);
        Assert.True(decision.Hold);
        Assert.StartsWith("replica F of partition 7 failed", decision.Reason);
    }

    [Fact]
    public void With_fewer_than_three_replicas_a_data_fault_is_skipped_at_once()
    {
        (uint, string[])[] pairs = [(0, ["A", "B"]), (1, ["B", "A"])];
        var replies = new Dictionary<string, DescribeReply?> { ["A"] = Reply("A", pairs), ["B"] = Reply("B", pairs) };
        var decision = FaultBudget.Decide(Fault("wipe"), replies, NoneDamaged);
        Assert.True(decision.Hold);
        Assert.True(decision.Permanent);
        Assert.Equal("partition 0 has 2 replicas: losing one disk is not a minority", decision.Reason);
    }

    // --- loss: a node lost for good (issue 12) ---

    private static readonly string[] Six = ["A", "B", "C", "D", "E", "F"];

    /// <summary>What <paramref name="node"/> answers with membership: every node up (but those in
    /// <paramref name="states"/>), the metadata group on A,B,C and partitions 3 and 7 as in
    /// <see cref="Placement"/>, led by their first replica, voters the target, configuration committed.</summary>
    private static DescribeReply Member(string node, string[] nodes, Dictionary<string, string>? states = null, Action<string, PartitionDescription>? change = null)
    {
        var reply = Reply(node, Placement);
        reply.ReplicationFactor = 3;
        reply.CatalogVersion = 40;
        foreach (var id in nodes) reply.Nodes.Add(new NodeDescription { Id = id, Address = $"{id}:1", Site = id, State = states?.GetValueOrDefault(id) ?? "up" });
        PartitionDescription Group(uint partition, string[] replicas)
        {
            var d = new PartitionDescription { Partition = partition, Leader = replicas[0], Term = 2 };
            d.Replicas.AddRange(replicas);
            if (replicas.Contains(node))
            {
                d.LocalRole = replicas[0] == node ? "Leader" : "Follower";
                d.Voters.AddRange(replicas);
                d.ConfigurationCommitted = true;
            }
            return d;
        }
        reply.Metadata = Group(0xFFFF0000, ["A", "B", "C"]);
        change?.Invoke("meta", reply.Metadata);
        var stream = new StreamDescription { Id = 0 };
        foreach (var (partition, replicas) in Placement)
        {
            var d = Group(partition, replicas);
            change?.Invoke(partition.ToString(System.Globalization.CultureInfo.InvariantCulture), d);
            stream.Partitions.Add(d);
        }
        reply.Streams.Add(stream);
        return reply;
    }

    private static Dictionary<string, DescribeReply?> Members(Dictionary<string, string>? states = null, Action<string, PartitionDescription>? change = null) =>
        Six.ToDictionary(n => n, n => (DescribeReply?)Member(n, Six, states, change));

    [Fact]
    public void A_loss_goes_ahead_when_every_group_is_in_place_and_every_node_is_up_and_answering()
    {
        Assert.Contains("loss", FaultBudget.DataClasses);
        var decision = FaultBudget.Decide(Fault("loss"), Members(), NoneDamaged);
        Assert.False(decision.Hold, decision.Reason);
    }

    [Fact]
    public void A_loss_waits_while_a_group_is_not_in_place_and_a_wipe_does_not()
    {
        // Partition 7 is still moving: its leader B has D as a learner (target B,A,F).
        var replies = Members(change: (group, d) =>
        {
            if (group == "7" && d.LocalRole == "Leader") d.Learners.Add("D");
        });
        var decision = FaultBudget.Decide(Fault("loss"), replies, NoneDamaged);
        Assert.True(decision.Hold);
        Assert.False(decision.Permanent);
        Assert.Equal("1 group not in place (7: voters B,A,F learners D, target B,A,F)", decision.Reason);
        Assert.False(FaultBudget.Decide(Fault("wipe"), replies, NoneDamaged).Hold);

        // A configuration not yet committed, or no leader answering, is not in place either.
        var uncommitted = Members(change: (group, d) =>
        {
            if (group == "3" && d.LocalRole == "Leader") d.ConfigurationCommitted = false;
        });
        Assert.StartsWith("1 group not in place (3:", FaultBudget.Decide(Fault("loss"), uncommitted, NoneDamaged).Reason);
        var leaderless = Members();
        leaderless["C"] = null; // leads partition 3
        var silent = FaultBudget.Decide(Fault("loss"), leaderless, NoneDamaged);
        Assert.True(silent.Hold);
        Assert.Equal("C not answering; 1 group not in place (3: no leader, target C,D,E)", silent.Reason);
    }

    [Fact]
    public void A_loss_waits_while_another_node_is_dead_or_a_replica_recovers()
    {
        var dead = Members(new Dictionary<string, string> { ["F"] = "dead" });
        var decision = FaultBudget.Decide(Fault("loss"), dead, NoneDamaged);
        Assert.True(decision.Hold);
        Assert.False(decision.Permanent);
        Assert.Equal("F is dead (not added back yet)", decision.Reason);

        // A removed node takes no replica and holds nothing back.
        Assert.False(FaultBudget.Decide(Fault("loss"), Members(new Dictionary<string, string> { ["F"] = "removed" }), NoneDamaged).Hold);

        var recovering = Members();
        recovering["B"]!.Streams[0].Partitions.Single(p => p.Partition == 7).Recovering = true;
        recovering["B"]!.Partitions.Single(p => p.Partition == 7).Recovering = true;
        var held = FaultBudget.Decide(Fault("loss"), recovering, NoneDamaged);
        Assert.True(held.Hold);
        Assert.Equal("replica B of partition 7 recovering", held.Reason);
    }

    [Fact]
    public void A_loss_is_skipped_at_once_when_no_other_node_could_take_the_lost_replicas()
    {
        // Three nodes and R=3: nowhere to move a lost node's replicas.
        string[] three = ["A", "B", "C"];
        (uint, string[])[] placement = [(0, ["A", "B", "C"])];
        var replies = three.ToDictionary(n => n, n =>
        {
            var reply = Reply(n, placement);
            reply.ReplicationFactor = 3;
            foreach (var id in three) reply.Nodes.Add(new NodeDescription { Id = id, State = "up" });
            return (DescribeReply?)reply;
        });
        var decision = FaultBudget.Decide(Fault("loss"), replies, NoneDamaged);
        Assert.True(decision.Hold);
        Assert.True(decision.Permanent);
        Assert.Equal("only 3 nodes take replicas at 3 replicas per group: a lost node could not be replaced", decision.Reason);
    }

    [Fact]
    public void A_loss_never_picks_a_cut_vertex()
    {
        var mini2 = Braid.Cli.TopologyFiles.Load("mini2");
        Assert.Equal(["B", "E"], mini2.NodeIds.Where(n => FaultInjector.SplitsGraph(mini2, n)));
    }
}
