using Braid.Core.Placement;
using Braid.Core.Topology;

namespace Braid.Core.Tests.Placement;

public sealed class PlacementEdgeCaseTests
{
    /// <summary>A-B-C in a line: B is a cut vertex between the only two other nodes, so no replica
    /// set of 3 can keep a connected majority when B dies. That is the one case the graph forbids.</summary>
    private const string Path3 = """
        { "name": "path3", "nodes": [
            { "id": "A", "host": "h", "port": 1, "site": "s1" }, { "id": "B", "host": "h", "port": 2, "site": "s1" },
            { "id": "C", "host": "h", "port": 3, "site": "s2" } ],
          "edges": [ ["A", "B"], ["B", "C"] ] }
        """;

    [Fact]
    public void One_replica_per_partition_is_spread_and_lost_only_with_its_own_node()
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load("mini2"), partitions: 12, replicas: 1);
        Assert.All(table.Topology.NodeIds, n => Assert.Equal(2, table.ReplicasOn(n)));
        foreach (var failed in table.Topology.NodeIds)
        {
            var lost = table.Partitions.Where(p => p.PreferredLeader == failed).Select(p => p.Partition);
            Assert.Equal(Enumerable.Range(0, 12).Except(lost), table.WritableAfterFailure(failed));
        }
    }

    [Fact]
    public void Five_replicas_on_mini2_survive_every_single_failure_and_the_host_split()
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load("mini2"), partitions: 12, replicas: 5);
        Assert.Equal(3, table.Quorum);
        // Only host1's A, B, D form a connected triple inside one site, so every set holds them
        // (surviving the host split costs balance: 12 replicas each on host1, 8 on host2).
        Assert.All(["A", "B", "D"], n => Assert.Equal(12, table.ReplicasOn(n)));
        Assert.All(["C", "E", "F"], n => Assert.Equal(8, table.ReplicasOn(n)));
        Assert.Equal(12, Assert.Single(table.SiteSplits.Select((_, i) => table.WritableAfterSiteSplit(i).Count)));
        Assert.All(table.Topology.NodeIds, n => Assert.Equal(2, table.PreferredLeadersOn(n)));
        foreach (var failed in table.Topology.NodeIds)
            Assert.Equal(12, table.WritableAfterFailure(failed).Count);
    }

    [Fact]
    public void Where_the_graph_forbids_a_majority_exactly_those_cases_are_reported()
    {
        var table = PlacementPlanner.Plan(TopologyLoader.Parse(Path3), partitions: 4, replicas: 3);
        Assert.Empty(table.WritableAfterFailure("B"));
        Assert.Equal([0, 1, 2, 3], table.WritableAfterFailure("A"));
        Assert.Equal([0, 1, 2, 3], table.WritableAfterFailure("C"));
    }

    [Fact]
    public void Writability_counts_paths_through_nodes_that_hold_no_replica()
    {
        // {A, C, D} on mini2: when B dies, C is cut off, but A and D still talk through E, which
        // holds no replica of it.
        var table = PlacementPlanner.Plan(TestTopologies.Load("mini2"));
        var partition = table.Partitions.First(p => p.Replicas.Order().SequenceEqual(["A", "C", "D"])).Partition;
        Assert.True(table.IsWritableAfterFailure(partition, "B"));
        Assert.True(table.IsWritableAfterFailure(partition, "E"));
    }

    [Fact]
    public void A_failure_that_leaves_only_a_split_minority_is_not_writable()
    {
        var table = PlacementPlanner.Plan(TopologyLoader.Parse(Path3), partitions: 1, replicas: 3);
        Assert.False(table.IsWritableAfterFailure(0, "B"));
        Assert.True(table.IsWritableAfterFailure(0, "A"));
    }

    [Fact]
    public void Sixteen_nodes_with_five_replicas_are_searched_exhaustively_and_balanced()
    {
        var table = PlacementPlanner.Plan(TopologyLoader.Parse(Grid(4)), partitions: 16, replicas: 5);
        foreach (var failed in table.Topology.NodeIds)
            Assert.Equal(16, table.WritableAfterFailure(failed).Count);
        Assert.All(table.Topology.NodeIds, n => Assert.InRange(table.ReplicasOn(n), 4, 6));
        Assert.All(table.Topology.NodeIds, n => Assert.Equal(1, table.PreferredLeadersOn(n)));
    }

    /// <summary>A side x side grid, one site per row (2-connected: no single failure cuts it).</summary>
    private static string Grid(int side)
    {
        static string Id(int r, int c) => $"N{r}{c}";
        var nodes = from r in Enumerable.Range(0, side)
                    from c in Enumerable.Range(0, side)
                    select $$"""{ "id": "{{Id(r, c)}}", "host": "h", "port": {{1 + r * side + c}}, "site": "row{{r}}" }""";
        var edges = from r in Enumerable.Range(0, side)
                    from c in Enumerable.Range(0, side)
                    from n in new[] { (R: r + 1, C: c), (R: r, C: c + 1) }
                    where n.R < side && n.C < side
                    select $"""["{Id(r, c)}", "{Id(n.R, n.C)}"]""";
        return $$"""{ "name": "grid{{side}}", "nodes": [ {{string.Join(", ", nodes)}} ], "edges": [ {{string.Join(", ", edges)}} ] }""";
    }

    [Theory]
    [InlineData(0, 3, "partitions")]
    [InlineData(12, 0, "replicas")]
    [InlineData(12, 7, "replicas")]
    public void Bad_arguments_throw_a_clear_error(int partitions, int replicas, string parameter)
    {
        var e = Assert.Throws<ArgumentException>(() => PlacementPlanner.Plan(TestTopologies.Load("mini2"), partitions, replicas));
        Assert.Equal(parameter, e.ParamName);
        Assert.Contains(parameter, e.Message);
    }

    [Fact]
    public void Unknown_node_or_partition_is_rejected()
    {
        var table = PlacementPlanner.Plan(TestTopologies.Load("mini2"));
        Assert.Throws<ArgumentException>(() => table.WritableAfterFailure("Z"));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.IsWritableAfterFailure(12, "A"));
    }
}
