using System.Net;
using Braid.Cli.Hosts;
using Braid.Core.Topology;

namespace Braid.Cli.Tests.Lab;

public sealed class NetworkLayoutTests
{
    private static ClusterTopology Mini2() => TopologyFiles.Load("mini2");

    [Fact]
    public void Netns_puts_each_site_on_one_host_and_per_node_each_node_on_its_own()
    {
        var sites = NetworkLayout.Plan(Mini2(), HostMode.Netns, "abcd", 5);
        Assert.Equal(2, sites.Hosts.Count);
        Assert.Equal(["A", "B", "D"], sites.Hosts[0].Nodes);
        Assert.Equal(["C", "E", "F"], sites.Hosts[1].Nodes);
        var perNode = NetworkLayout.Plan(Mini2(), HostMode.NetnsPerNode, "abcd", 5);
        Assert.Equal(6, perNode.Hosts.Count);
        Assert.Equal(6, perNode.Hosts.Select(h => h.Address).Distinct().Count());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(511)]
    public void Every_address_lies_in_the_benchmarking_range(int subnet)
    {
        var layout = NetworkLayout.Plan(Mini2(), HostMode.NetnsPerNode, "abcd", subnet);
        var range = IPNetwork.Parse("198.18.0.0/15");
        Assert.True(range.Contains(IPAddress.Parse(layout.BridgeAddress)));
        Assert.All(layout.Hosts, h => Assert.True(range.Contains(IPAddress.Parse(h.Address)), h.Address));
        // Interface names fit Linux's 15 characters.
        Assert.All(layout.Hosts, h => Assert.True(h.RootVeth.Length <= 15 && h.HostVeth.Length <= 15));
        Assert.True(layout.Bridge.Length <= 15);
    }

    [Fact]
    public void The_rewritten_topology_keeps_ids_edges_sites_and_ports_and_moves_nodes_to_their_host()
    {
        var topology = Mini2();
        var layout = NetworkLayout.Plan(topology, HostMode.Netns, "abcd", 9);
        var rewritten = TopologyLoader.Parse(layout.RewriteTopology(topology), "rewritten");
        Assert.Equal(topology.Hash, rewritten.Hash);
        foreach (var node in topology.Nodes)
        {
            var moved = rewritten.Node(node.Id);
            Assert.Equal(node.Port, moved.Port);
            Assert.Equal(node.Site, moved.Site);
            Assert.Equal(layout.HostOf(node.Id).Address, moved.Host);
        }
    }

    [Fact]
    public void Tags_are_stable_per_folder_and_differ_between_folders()
    {
        Assert.Equal(NetworkLayout.TagFor("/tmp/x/cluster"), NetworkLayout.TagFor("/tmp/x/cluster"));
        Assert.NotEqual(NetworkLayout.TagFor("/tmp/x/cluster"), NetworkLayout.TagFor("/tmp/y/cluster"));
        Assert.Matches("^[0-9a-f]{4}$", NetworkLayout.TagFor("/tmp/x/cluster"));
    }
}
