using System.Text.Json;
using Braid.Cli.Json;
using Braid.Cli.Membership;
using Braid.Protocol.V1;

namespace Braid.Cli.Tests.Membership;

/// <summary>braid cluster members: every node's Describe answer folded into one view of the groups.</summary>
public sealed class MembershipViewTests
{
    private static PartitionDescription Partition(uint p, string[] target, string role = "", string[]? voters = null, string[]? learners = null, ulong term = 1, bool committed = true, string leader = "") =>
        new() { Partition = p, Replicas = { target }, LocalRole = role, Voters = { voters ?? [] }, Learners = { learners ?? [] }, Term = term, ConfigurationCommitted = committed, Leader = leader };

    private static DescribeReply Reply(string node, ulong version, PartitionDescription meta, params PartitionDescription[] partitions)
    {
        var reply = new DescribeReply { NodeId = node, CatalogVersion = version, Metadata = meta };
        foreach (var id in new[] { "A", "B", "C", "D" }) reply.Nodes.Add(new NodeDescription { Id = id, Address = $"127.0.0.1:{7100 + id[0] - 'A'}", Site = "s", State = id == "D" ? "dead" : "up" });
        var stream = new StreamDescription { Name = "airquality", Id = 0 };
        stream.Partitions.AddRange(partitions);
        reply.Streams.Add(stream);
        return reply;
    }

    [Fact]
    public void A_group_is_in_place_when_its_leaders_voters_are_its_target_with_no_learner_and_the_change_committed()
    {
        string[] abc = ["A", "B", "C"];
        var a = Reply("A", 5, Partition(0, abc, "Leader", abc, leader: "A"),
            Partition(0, abc, "Leader", ["A", "B", "D"], ["C"], term: 3, leader: "A"),
            Partition(1, abc, "Follower", abc, term: 2, leader: "B"));
        var b = Reply("B", 4, Partition(0, abc, "Follower", abc, leader: "A"),
            Partition(0, ["A", "B", "D"], "Follower", ["A", "B", "D"], term: 2, leader: "A"),
            Partition(1, abc, "Leader", abc, term: 2, leader: "B"));
        var report = MembershipView.Build(new Dictionary<string, DescribeReply?> { ["A"] = a, ["B"] = b, ["C"] = null });

        Assert.Equal(5UL, report.CatalogVersion); // the newest catalog's targets count
        Assert.Equal(["meta", "0", "1"], report.Groups.Select(g => g.Group));
        var moving = report.Groups[1];
        Assert.False(moving.InPlace);
        Assert.Equal(["C"], moving.Learners);
        Assert.Equal(3UL, moving.Term);
        Assert.True(report.Groups[2].InPlace);
        Assert.Equal(2, report.GroupsInPlace);
        Assert.Contains("0: voters A,B,D learners C, target A,B,C", report.Moving);
        Assert.Equal("dead", report.Nodes.Single(n => n.Id == "D").State);
        Assert.False(report.Nodes.Single(n => n.Id == "C").Answered);
        Assert.Equal(3, report.Nodes.Single(n => n.Id == "A").Replicas);

        using var doc = JsonDocument.Parse(CliJson.Serialize(report));
        Assert.Equal(["catalog_version", "nodes", "groups", "groups_in_place", "moving"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["group", "target", "voters", "learners", "leader", "term", "committed", "in_place"], doc.RootElement.GetProperty("groups")[0].EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void A_group_without_a_leader_is_not_in_place()
    {
        var a = Reply("A", 1, Partition(0, ["A"], "Follower", ["A"]), Partition(0, ["A", "B", "C"], "Follower", ["A", "B", "C"]));
        var report = MembershipView.Build(new Dictionary<string, DescribeReply?> { ["A"] = a });
        Assert.All(report.Groups, g => Assert.False(g.InPlace));
        Assert.Contains("0: no leader, target A,B,C", report.Moving);
    }
}
