using Braid.Core.Placement;
using Braid.Core.Topology;

namespace Braid.Core.Tests.Placement;

public sealed class PlacementPlannerTests
{
    public static TheoryData<string> Shipped => new() { "mini2", "mini2-9", "mesh3", "grid3x3" };

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Same_inputs_give_the_same_table(string name)
    {
        var first = PlacementPlanner.Plan(TestTopologies.Load(name));
        var second = PlacementPlanner.Plan(TestTopologies.Load(name));
        Assert.Equal(first.Partitions, second.Partitions);
    }

    [Fact]
    public void Node_and_edge_order_in_the_file_do_not_matter()
    {
        var original = PlacementPlanner.Plan(TestTopologies.Load("mini2"));
        var shuffled = PlacementPlanner.Plan(TopologyLoader.Parse(Mini2Shuffled));
        Assert.Equal(original.Partitions, shuffled.Partitions);
    }

    [Fact]
    public void Mini2_table_is_the_expected_one()
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load("mini2"));
        string[] expected = ["A B E", "D C F", "B A E", "C D F", "E A B", "F D C"];
        Assert.Equal([.. expected, .. expected], table.Partitions.Select(p => string.Join(" ", p.Replicas)));
    }

    /// <summary>None of the shipped graphs forces a loss with R=3: each has, for every failure, sets
    /// that avoid leaning on a cut vertex together with the leaf behind it.</summary>
    [Theory]
    [MemberData(nameof(Shipped))]
    public void Every_partition_stays_writable_after_every_single_node_failure(string name)
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load(name));
        foreach (var failed in table.Topology.NodeIds)
            Assert.Equal(Enumerable.Range(0, 12), table.WritableAfterFailure(failed));
    }

    [Fact]
    public void Mini2_never_relies_on_a_cut_vertex_and_its_leaf_together()
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load("mini2"));
        foreach (var p in table.Partitions)
        {
            Assert.False(p.Replicas.Contains("B") && p.Replicas.Contains("C"), p.ToString());
            Assert.False(p.Replicas.Contains("E") && p.Replicas.Contains("F"), p.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Replicas_per_node_are_within_one_of_the_mean(string name)
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load(name));
        var mean = 12.0 * 3 / table.Topology.Nodes.Count;
        foreach (var node in table.Topology.NodeIds)
            Assert.InRange(table.ReplicasOn(node), mean - 1, mean + 1);
    }

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Preferred_leaders_differ_by_at_most_one_between_nodes(string name)
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load(name));
        var counts = table.Topology.NodeIds.Select(table.PreferredLeadersOn).ToArray();
        Assert.True(counts.Max() - counts.Min() <= 1, string.Join(",", counts));
    }

    [Theory]
    [MemberData(nameof(Shipped))]
    public void No_partition_sits_entirely_on_one_site(string name)
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load(name));
        foreach (var p in table.Partitions)
            Assert.True(table.SitesOf(p.Partition).Distinct().Count() >= 2, p.ToString());
    }

    [Theory]
    [InlineData("mini2-9")]
    [InlineData("grid3x3")]
    public void With_three_sites_every_partition_uses_all_three(string name)
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load(name));
        foreach (var p in table.Partitions)
            Assert.Equal(3, table.SitesOf(p.Partition).Distinct().Count());
    }

    [Fact]
    public void Replicas_of_a_partition_are_distinct_nodes_of_the_topology()
    {
        var topology = TestTopologies.Load("mini2-9");
        foreach (var p in PlacementPlanner.Plan(topology, partitions: 20, replicas: 5).Partitions)
        {
            Assert.Equal(5, p.Replicas.Distinct().Count());
            Assert.All(p.Replicas, id => Assert.True(topology.Contains(id)));
        }
    }

    private const string Mini2Shuffled = """
        { "name": "mini2", "nodes": [
            { "id": "F", "host": "h", "port": 6, "site": "host2" }, { "id": "D", "host": "h", "port": 4, "site": "host1" },
            { "id": "B", "host": "h", "port": 2, "site": "host1" }, { "id": "E", "host": "h", "port": 5, "site": "host2" },
            { "id": "A", "host": "h", "port": 1, "site": "host1" }, { "id": "C", "host": "h", "port": 3, "site": "host2" } ],
          "edges": [ ["D", "E"], ["F", "E"], ["E", "A"], ["D", "B"], ["C", "B"], ["B", "A"] ] }
        """;
}
