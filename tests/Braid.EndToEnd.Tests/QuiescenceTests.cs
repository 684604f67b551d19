using Braid.Cli.Bench;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Issue 14, item 5, on real processes: an idle cluster's partitions go quiescent (no heartbeats,
/// no election timers), and a quiescent partition whose leader is killed still gets a new leader
/// and takes writes: the overlay's failure detector, not a timer, notices the death.
/// </summary>
public sealed class QuiescenceTests
{
    [Fact(Timeout = 240_000)]
    public async Task A_quiescent_partition_fails_over_when_its_leader_is_killed()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        var addresses = ReplicationTests.NodeAddresses(cluster);
        using var clients = new NodeClients(cluster.Tls);
        var writer = new PartitionWriter(clients, addresses);
        var payload = ByteString.CopyFrom(Braid.Data.RecordBatchCodec.Encode(StreamingTests.Records(10).ToArray()));
        ulong sequence = 0;
        for (var i = 0; i < 5; i++)
            Assert.Equal(AppendStatus.AppendOk, (await writer.WriteAsync(0, 5, ++sequence, payload, TimeSpan.FromSeconds(30), CancellationToken.None)).Status);

        // Idle: within seconds every replica of every partition on every node says it is quiescent.
        async Task<List<PartitionDescription>> DescribeAllAsync() =>
            (await Task.WhenAll(addresses.Select(a => ReplicationTests.Retry(() =>
                new Protocol.V1.Stream.StreamClient(clients.Channel(a)).DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync))))
            .SelectMany(d => d.Partitions).Where(p => p.LocalRole.Length > 0).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        List<PartitionDescription> replicas;
        do
        {
            await Task.Delay(200);
            replicas = await DescribeAllAsync();
        }
        while (!replicas.All(p => p.Quiescent) && DateTime.UtcNow < deadline);
        Assert.True(replicas.All(p => p.Quiescent), "not quiescent: " + string.Join(", ", replicas.Where(p => !p.Quiescent).Select(p => $"{p.Partition}:{p.LocalRole}")));
        Assert.Equal(3 * 12, replicas.Count);

        var leader = await writer.FindLeaderAsync(0, CancellationToken.None);
        Assert.NotNull(leader);
        var kill = await cluster.RunAsync("cluster", "kill", leader!);
        Assert.True(kill.ExitCode == 0, kill.ToString());

        var reply = await writer.WriteAsync(0, 5, ++sequence, payload, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.Equal(AppendStatus.AppendOk, reply.Status);
        var newLeader = await writer.FindLeaderAsync(0, CancellationToken.None);
        Assert.NotNull(newLeader);
        Assert.NotEqual(leader, newLeader);
        var log = File.ReadAllText(Path.Combine(cluster.Directory, newLeader!, "node.log"));
        Assert.Contains($"leader {leader} is unreachable: failing over", log);
    }
}
