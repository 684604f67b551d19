using Braid.Core.Topology;
using Braid.Node.Metrics;
using Braid.Node.Services;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Logging.Abstractions;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace Braid.Node.Tests.Services;

/// <summary>The health rule (issue 14, item 2) on samples, without a node.</summary>
public sealed class NodeHealthTests
{
    private static readonly ClusterTopology Mesh3 = TopologyLoader.Parse("""
        { "name": "mesh3", "nodes": [
            { "id": "A", "host": "127.0.0.1", "port": 7101, "site": "s1" },
            { "id": "B", "host": "127.0.0.1", "port": 7102, "site": "s2" },
            { "id": "C", "host": "127.0.0.1", "port": 7103, "site": "s3" } ],
          "edges": [ ["A", "B"], ["B", "C"], ["A", "C"] ] }
        """);

    private readonly HealthServiceImpl service = new();
    private readonly NodeHealth health;

    public NodeHealthTests() =>
        health = new NodeHealth(service, new NodeOptions(Mesh3, "A", "/nonexistent", false, 1), NullLogger<NodeHealth>.Instance);

    private ServingStatus Status(string name) => service.Check(new HealthCheckRequest { Service = name }, null!).Result.Status;

    private static PartitionSample Replica(uint partition, string? leader, bool noSpace = false) =>
        new(partition, 3, leader, leader == "A", 10, 10, 10, 100, 5, noSpace, []);

    private static OverlaySample Links(int up, params string[] reachable) => new(
        [.. new[] { "B", "C" }.Select((n, i) => new NeighbourSample(n, i < up, 0.1))],
        new HashSet<string>(["A", .. reachable]), 0, 0, 0, 0);

    [Fact]
    public void Nothing_serves_before_replay_ends_even_with_links_and_a_leader()
    {
        health.Starting();
        health.Evaluate(new PartitionsSample([Replica(0, "A")], 0), Links(2, "B", "C"));
        Assert.Equal(ServingStatus.NotServing, Status(NodeHealth.Node));
        Assert.Equal(ServingStatus.NotServing, Status(NodeHealth.Stream));
        Assert.Equal(ServingStatus.Serving, Status(NodeHealth.Peer));
    }

    [Fact]
    public void The_node_serves_once_replayed_and_joined_and_stays_serving_when_its_links_go()
    {
        health.Starting();
        health.ReplayEnded();
        health.Evaluate(new PartitionsSample([Replica(0, "B")], 0), Links(0));
        Assert.Equal(ServingStatus.NotServing, Status(NodeHealth.Node)); // not joined yet
        health.Evaluate(new PartitionsSample([Replica(0, "B")], 0), Links(1, "B"));
        Assert.Equal(ServingStatus.Serving, Status(NodeHealth.Node));
        Assert.Equal(ServingStatus.Serving, Status(NodeHealth.Stream));
        // Isolated later: still a live node, but it cannot take writes.
        health.Evaluate(new PartitionsSample([Replica(0, "B")], 0), Links(0));
        Assert.Equal(ServingStatus.Serving, Status(NodeHealth.Node));
        Assert.Equal(ServingStatus.NotServing, Status(NodeHealth.Stream));
    }

    [Theory]
    [InlineData("A", false, true)]   // leads it
    [InlineData("B", false, true)]   // follows a reachable leader
    [InlineData("C", false, false)]  // its leader has no route from here
    [InlineData(null, false, false)] // no leader known (an election, a minority side)
    [InlineData("A", true, false)]   // NOSPACE alarm: read-only
    public void Stream_serves_when_one_replica_has_room_and_a_reachable_leader(string? leader, bool noSpace, bool serving)
    {
        var partitions = new PartitionsSample([Replica(0, leader, noSpace)], 0);
        Assert.Equal(serving, NodeHealth.CanTakeWrites(partitions, new HashSet<string> { "A", "B" }));
    }

    [Fact]
    public void Stream_does_not_serve_when_every_replica_here_failed_and_serves_if_one_can_write()
    {
        var reachable = new HashSet<string> { "A", "B", "C" };
        Assert.False(NodeHealth.CanTakeWrites(new PartitionsSample([], 2), reachable));
        Assert.True(NodeHealth.CanTakeWrites(new PartitionsSample([Replica(0, null), Replica(1, "B", noSpace: true), Replica(2, "C")], 1), reachable));
    }

    [Fact]
    public void Stopping_is_final()
    {
        health.Starting();
        health.ReplayEnded();
        health.Evaluate(new PartitionsSample([Replica(0, "A")], 0), Links(2, "B", "C"));
        Assert.Equal(ServingStatus.Serving, Status(NodeHealth.Stream));
        health.Stopping();
        health.Evaluate(new PartitionsSample([Replica(0, "A")], 0), Links(2, "B", "C"));
        Assert.Equal(ServingStatus.NotServing, Status(NodeHealth.Node));
        Assert.Equal(ServingStatus.NotServing, Status(NodeHealth.Stream));
    }
}
