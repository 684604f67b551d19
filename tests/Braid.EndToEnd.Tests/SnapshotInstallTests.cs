using Braid.Cli.Bench;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.EndToEnd.Tests;

/// <summary>Retention and snapshot install on real processes (issue 4): a replica that was down
/// while its partition's log was compacted past it comes back through the leader's snapshot.</summary>
public sealed class SnapshotInstallTests
{
    private const ulong Producer = 7;

    [Fact(Timeout = 240_000)]
    public async Task A_replica_behind_the_retained_log_installs_a_snapshot_and_keeps_exactly_once()
    {
        // 64 KiB kept per replica in 16 KiB segments: a few hundred small batches compact the log.
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3, faults: true, "--partitions", "3", "--retain-bytes", "65536", "--segment-bytes", "16384");
        var addresses = ReplicationTests.NodeAddresses(cluster);
        using var clients = new NodeClients(cluster.Tls);
        var writer = new PartitionWriter(clients, addresses);
        var payload = ByteString.CopyFrom(Braid.Data.RecordBatchCodec.Encode(StreamingTests.Records(10).ToArray()));
        var acked = new List<ulong>();
        ulong sequence = 0;
        async Task WriteAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var reply = await writer.WriteAsync(0, Producer, ++sequence, payload, TimeSpan.FromSeconds(30), CancellationToken.None);
                Assert.Equal(AppendStatus.AppendOk, reply.Status);
                acked.Add(sequence);
            }
        }
        Task<PartitionRecordsReply> RecordsOf(string node) => ReplicationTests.Retry(() =>
            clients.Admin(addresses[cluster.NodeIndex(node)]).PartitionRecordsAsync(new PartitionRecordsRequest { Partition = 0 }, deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync);

        var replicas = (await ReplicationTests.Retry(() => new Protocol.V1.Stream.StreamClient(clients.Channel(addresses[0])).DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync))
            .Partitions[0].Replicas.ToList();
        var preferred = replicas[0];
        var settleBy = DateTime.UtcNow.AddSeconds(20);
        while (await writer.FindLeaderAsync(0, CancellationToken.None) != preferred && DateTime.UtcNow < settleBy) await Task.Delay(100);
        await WriteAsync(30);

        // The preferred leader goes down; the others go on and compact far past where it stopped.
        var down = await cluster.RunAsync("cluster", "kill", preferred);
        Assert.True(down.ExitCode == 0, down.ToString());
        var stoppedAt = (ulong)acked.Count + 2; // its log ended near here (a no-op per leader term)
        await WriteAsync(600);
        var newLeader = await writer.FindLeaderAsync(0, CancellationToken.None);
        Assert.NotNull(newLeader);
        var leaderRecords = await RecordsOf(newLeader!);
        Assert.True(leaderRecords.FirstIndex > stoppedAt + 1, $"the leader still holds entry {leaderRecords.FirstIndex}: nothing to install");

        var restart = await cluster.RunAsync("cluster", "restart", preferred);
        Assert.True(restart.ExitCode == 0, restart.ToString());

        // It catches up through a snapshot, then takes its leadership back (preferred leader).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string? leaderNow;
        do
        {
            await WriteAsync(1);
            leaderNow = await writer.FindLeaderAsync(0, CancellationToken.None);
        }
        while (leaderNow != preferred && DateTime.UtcNow < deadline);
        Assert.Equal(preferred, leaderNow);
        var restarted = await RecordsOf(preferred);
        Assert.True(restarted.SnapshotsInstalled >= 1, $"no snapshot installed on {preferred}");
        Assert.True(restarted.SnapshotIndex > stoppedAt, $"snapshot {restarted.SnapshotIndex} not past {stoppedAt}");
        Assert.Contains("installed from the leader", File.ReadAllText(Path.Combine(cluster.Directory, preferred, "node.log")));

        // Its dedup table came with the snapshot: a retry of a batch acknowledged before it went
        // down (long compacted away everywhere) is recognised, not stored again.
        var retry = await writer.WriteAsync(0, Producer, 5, payload, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal((AppendStatus.AppendOk, true), (retry.Status, retry.Duplicate));
        await WriteAsync(5);

        // Every replica holds exactly the acknowledged sequences after its retention point, each
        // once and in order, ending with the last one acknowledged.
        foreach (var replica in replicas)
        {
            PartitionRecordsReply records;
            var until = DateTime.UtcNow.AddSeconds(20);
            do
            {
                records = await RecordsOf(replica);
                if (records.Sequences.Count > 0 && records.Sequences[^1] == acked[^1]) break;
                await Task.Delay(200);
            }
            while (DateTime.UtcNow < until);
            var sequences = records.Sequences.Where((_, i) => records.Producers[i] == Producer).ToList();
            Assert.True(records.HasReplica);
            Assert.True(records.SnapshotIndex > 0, $"{replica} never compacted");
            Assert.InRange(sequences.Count, 1, acked.Count - 31);
            Assert.Equal(acked.Skip(acked.Count - sequences.Count), sequences);
        }

        // A new query reads exactly what the leader retains (its snapshot starts after the
        // leader's retention point): 10 records per retained batch.
        var stream = new Protocol.V1.Stream.StreamClient(clients.Channel(addresses[0]));
        var leaderForQuery = await writer.FindLeaderAsync(0, CancellationToken.None);
        Assert.NotNull(leaderForQuery);
        var retainedOnLeader = await RecordsOf(leaderForQuery!);
        long fresh = 0;
        using (var call = stream.Query(new QueryRequest { ChunkRecords = 5000 }, deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) fresh += call.ResponseStream.Current.RecordCount;
        }
        Assert.Equal(retainedOnLeader.Sequences.Count * 10L, fresh);

        // A query that stopped inside partition 0, resumed after retention removed the records
        // it had not reached yet, is refused with a clear error instead of silently skipping them.
        byte[] cursor;
        using (var call = stream.Query(new QueryRequest { ChunkRecords = 20 }, deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(20u, call.ResponseStream.Current.RecordCount);
            cursor = call.ResponseStream.Current.Cursor.ToByteArray();
        }
        await WriteAsync(400);
        var gone = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
        {
            using var call = stream.Query(new QueryRequest { ChunkRecords = 20, Cursor = ByteString.CopyFrom(cursor) }, deadline: DateTime.UtcNow.AddSeconds(30));
            while (await call.ResponseStream.MoveNext(CancellationToken.None)) { }
        });
        Assert.Equal(Grpc.Core.StatusCode.OutOfRange, gone.StatusCode);
        Assert.Contains("removed by retention", gone.Status.Detail);
    }
}
