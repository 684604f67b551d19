using System.Text.Json;
using Braid.Cli.Bench;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.EndToEnd.Tests;

/// <summary>Raft-replicated partitions on real processes: kill -9 a leader under a steady write load.</summary>
public sealed class ReplicationTests
{
    [Theory(Timeout = 240_000)]
    [InlineData("mesh3", 3)]
    [InlineData("mini2", 6)]
    public async Task Killing_a_partition_leader_under_load_loses_no_acknowledged_write(string topology, int nodes)
    {
        await using var cluster = await LocalCluster.UpAsync(topology, nodes, faults: true); // PartitionRecords needs it
        var addresses = NodeAddresses(cluster);
        using var clients = new NodeClients(cluster.Tls);
        var writer = new PartitionWriter(clients, addresses);
        var payload = ByteString.CopyFrom(Braid.Data.RecordBatchCodec.Encode(StreamingTests.Records(10).ToArray()));
        var acked = new List<ulong>();
        var duplicates = new List<ulong>();
        ulong sequence = 0;
        async Task WriteAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var reply = await writer.WriteAsync(0, 7, ++sequence, payload, TimeSpan.FromSeconds(30), CancellationToken.None);
                Assert.Equal(AppendStatus.AppendOk, reply.Status);
                // A retry of a batch that committed just before its acknowledgement was lost
                // (the leader died) is answered as a duplicate: stored once, acknowledged now.
                if (reply.Duplicate) duplicates.Add(sequence);
                acked.Add(sequence);
            }
        }

        // Let start-up settle: the first leaders hand their partitions to the preferred leaders
        // (a leadership change, which may legitimately turn a retry into a duplicate answer).
        var preferredAtStart = (await Retry(() => new Protocol.V1.Stream.StreamClient(clients.Channel(addresses[0])).DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync)).Partitions[0].Replicas[0];
        var settleBy = DateTime.UtcNow.AddSeconds(20);
        while (await writer.FindLeaderAsync(0, CancellationToken.None) != preferredAtStart && DateTime.UtcNow < settleBy) await Task.Delay(100);
        await Task.Delay(500);

        await WriteAsync(100);
        Assert.True(duplicates.Count == 0, $"duplicates without any failure: {string.Join(",", duplicates)}");
        var oldLeader = await writer.FindLeaderAsync(0, CancellationToken.None);
        Assert.NotNull(oldLeader);
        var load = WriteAsync(200); // keeps writing across the failover
        await Task.Delay(100);
        var kill = await cluster.RunAsync("cluster", "kill", oldLeader!);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        await load.WaitAsync(TimeSpan.FromSeconds(60));
        var newLeader = await writer.FindLeaderAsync(0, CancellationToken.None);
        Assert.NotNull(newLeader);
        Assert.NotEqual(oldLeader, newLeader);

        var restart = await cluster.RunAsync("cluster", "restart", oldLeader!);
        Assert.True(restart.ExitCode == 0, restart.ToString());
        await WriteAsync(20);

        // Leadership returns to the partition's preferred leader (first replica in the placement) once it has caught up.
        var preferred = (await Retry(() => new Protocol.V1.Stream.StreamClient(clients.Channel(addresses[0])).DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync)).Partitions[0].Replicas[0];
        var settled = DateTime.UtcNow.AddSeconds(20);
        string? leaderNow;
        do
        {
            await WriteAsync(1);
            leaderNow = await writer.FindLeaderAsync(0, CancellationToken.None);
        }
        while (leaderNow != preferred && DateTime.UtcNow < settled);
        Assert.Equal(preferred, leaderNow);

        // Every replica, the restarted old leader included, ends up with exactly the acknowledged
        // sequences, each once and in order.
        var replicas = (await Retry(() => new Protocol.V1.Stream.StreamClient(clients.Channel(addresses[0])).DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync))
            .Partitions[0].Replicas.ToList();
        Assert.Contains(oldLeader!, replicas);
        foreach (var replica in replicas)
        {
            var address = addresses[cluster.NodeIndex(replica)];
            PartitionRecordsReply records = new();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            do
            {
                records = await Retry(() => clients.Admin(address).PartitionRecordsAsync(new PartitionRecordsRequest { Partition = 0 }, deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync);
                if (records.Sequences.Count >= acked.Count) break;
                await Task.Delay(200);
            }
            while (DateTime.UtcNow < deadline);
            Assert.True(records.HasReplica);
            Assert.Equal(acked, records.Sequences.Where((_, i) => records.Producers[i] == 7).ToList());
        }
    }

    /// <summary>A channel to a node that was down stays in reconnect backoff for a moment after the
    /// node is back, failing calls fast with Unavailable: retry those for a few seconds.</summary>
    internal static async Task<T> Retry<T>(Func<Task<T>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable && attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    internal static List<string> NodeAddresses(LocalCluster cluster)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(cluster.Directory, "cluster.json")));
        return doc.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("address").GetString()!).ToList();
    }
}
