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
        foreach (var kind in FaultPlan.Classes.Where(c => c is not ("bitflip" or "truncate" or "wipe")))
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
}
