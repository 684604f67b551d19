using Braid.Core.Topology;

namespace Braid.Core.Tests.Topology;

public sealed class TopologyLoaderTests
{
    private const string TwoNodes = """{ "nodes": [ { "id": "A", "host": "127.0.0.1", "port": 1 }, { "id": "B", "host": "127.0.0.1", "port": 2 } ], "edges": [ ["A", "B"] ] }""";

    [Theory]
    [InlineData("mini2", 6, 6)]
    [InlineData("mini2-9", 9, 10)]
    [InlineData("mesh3", 3, 3)]
    [InlineData("grid3x3", 9, 12)]
    public void Shipped_topologies_load(string name, int nodes, int edges)
    {
        var topology = TestTopologies.Load(name);
        Assert.Equal(nodes, topology.Nodes.Count);
        Assert.Equal(edges, topology.Edges.Count);
    }

    [Fact]
    public void Mini2_has_the_course_graph_and_sites()
    {
        var t = TestTopologies.Load("mini2");
        Assert.Equal(["A", "C", "D"], t.NeighboursOf("B"));
        Assert.Equal(["A", "D", "F"], t.NeighboursOf("E"));
        Assert.Equal(["B", "E"], t.NeighboursOf("D"));
        Assert.Equal(t.Node("A").Site, t.Node("D").Site);
        Assert.NotEqual(t.Node("A").Site, t.Node("E").Site);
    }

    [Fact]
    public void A_valid_small_graph_loads() => Assert.Equal(2, TopologyLoader.Parse(TwoNodes).Nodes.Count);

    [Theory]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 1 } ], "edges": [ ["A", "Z"] ] }""", "unknown node 'Z'")]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 1 }, { "id": "A", "host": "h", "port": 2 } ], "edges": [] }""", "duplicate node id 'A'")]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 1 }, { "id": "B", "host": "h", "port": 1 } ], "edges": [ ["A", "B"] ] }""", "duplicate address h:1")]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 1 } ], "edges": [ ["A", "A"] ] }""", "self loop A-A")]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 1 }, { "id": "B", "host": "h", "port": 2 }, { "id": "C", "host": "h", "port": 3 } ], "edges": [ ["A", "B"] ] }""", "disconnected: C cannot be reached from A")]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 1 }, { "id": "B", "host": "h", "port": 2 } ], "edges": [ ["A", "B"], ["B", "A"] ] }""", "duplicate edge B-A")]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 70000 } ], "edges": [] }""", "\"port\" must be a number from 1 to 65535")]
    [InlineData("""{ "nodes": [ { "host": "h", "port": 1 } ], "edges": [] }""", "missing or empty \"id\"")]
    [InlineData("""{ "nodes": [], "edges": [] }""", "\"nodes\" is empty")]
    [InlineData("""{ "edges": [] }""", "missing \"nodes\" array")]
    [InlineData("""[1, 2]""", "top level must be an object")]
    [InlineData("""{ "nodes": [ { "id": "A", "host": "h", "port": 1 } ], "edges": [ ["A"] ] }""", "each edge must be a pair")]
    public void Invalid_topologies_are_rejected_with_a_message_naming_the_problem(string json, string expected)
    {
        var error = Assert.Throws<TopologyException>(() => TopologyLoader.Parse(json, "t.json"));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith("t.json", error.Message);
    }

    [Fact]
    public void Malformed_json_names_line_and_column()
    {
        const string json = "{\n  \"nodes\": [\n    { \"id\": \"A\" \"host\": \"h\" }\n  ]\n}";
        var error = Assert.Throws<TopologyException>(() => TopologyLoader.Parse(json, "bad.json"));
        Assert.Contains("malformed JSON at line 3, column 17", error.Message);
    }

    [Fact]
    public void The_lower_id_dials_and_the_hash_ignores_edge_order()
    {
        Assert.True(ClusterTopology.Dials("A", "B"));
        Assert.False(ClusterTopology.Dials("B", "A"));
        var reordered = TopologyLoader.Parse("""{ "nodes": [ { "id": "A", "host": "127.0.0.1", "port": 1 }, { "id": "B", "host": "127.0.0.1", "port": 2 } ], "edges": [ ["B", "A"] ] }""");
        Assert.Equal(TopologyLoader.Parse(TwoNodes).Hash, reordered.Hash);
    }

    [Fact]
    public void Base_port_rewrites_every_port_in_order()
    {
        var t = TestTopologies.Load("mini2").WithBasePort(20000);
        Assert.Equal(Enumerable.Range(20000, 6), t.Nodes.Select(n => n.Port));
    }
}
