using Braid.Client;
using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.EndToEnd.Tests;

/// <summary>Client ingest and queries on real processes, across kill -9 of nodes.</summary>
public sealed class StreamingTests
{
    private static readonly string[] Parameters = ["OZONE", "PM2.5", "PM10", "NO2", "SO2", "CO"];

    /// <summary>Distinct synthetic records: the AQS id carries the record's number.</summary>
    internal static List<AirQualityRecord> Records(int count)
    {
        var start = new DateTime(2020, 8, 10, 0, 0, 0, DateTimeKind.Utc);
        return Enumerable.Range(0, count).Select(i =>
        {
            var parameter = AirParameters.All[i % 6];
            return new AirQualityRecord(30 + i % 17, -120 + i % 29, start.AddHours(i % 1000), parameter, i % 300, parameter.Unit(), i % 300, i % 7 == 0 ? AirQualityRecord.MissingAqi : i % 400,
                1 + i % 6, $"Site {i % 97}", "Test Agency", i.ToString("D9", System.Globalization.CultureInfo.InvariantCulture), "840" + i.ToString("D9", System.Globalization.CultureInfo.InvariantCulture));
        }).ToList();
    }

    // A small send budget keeps the sender close to the acknowledgements, so the faults that the
    // tests inject between sends land while batches are still in flight.
    internal static async Task<BraidClient> ConnectAsync(LocalCluster cluster) =>
        await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = cluster.Addresses(), Tls = cluster.Tls, StallTimeout = TimeSpan.FromSeconds(60), MaxBufferedBytes = 256 * 1024 });

    internal static async Task IngestAsync(BraidClient client, IReadOnlyList<AirQualityRecord> records, int batchRecords, Func<long, Task>? onProgress = null, ulong producer = 42)
    {
        await using var session = new IngestSession(client, producer: producer);
        for (var b = 0; b * batchRecords < records.Count; b++)
        {
            var batch = records.Skip(b * batchRecords).Take(batchRecords).ToArray();
            await session.SendAsync(b, RecordBatchCodec.Encode(batch), batch.Length);
            if (onProgress is not null) await onProgress(client.Stats.AckedRecords);
        }
        await session.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(120));
    }

    private static void AssertExactlyOnce(IReadOnlyList<AirQualityRecord> sent, IReadOnlyList<AirQualityRecord> received)
    {
        var ids = received.Select(r => r.AqsId).ToList();
        var distinct = ids.Distinct().Count();
        Assert.True(distinct == ids.Count, $"{ids.Count - distinct} records returned twice");
        Assert.Equal(sent.Count, received.Count);
        Assert.Equal(sent.OrderBy(r => r.AqsId, StringComparer.Ordinal), received.OrderBy(r => r.AqsId, StringComparer.Ordinal));
    }

    [Fact(Timeout = 300_000)]
    public async Task Ingest_survives_killing_the_clients_node_and_a_partition_leader_and_stores_each_record_once()
    {
        await using var cluster = await LocalCluster.UpAsync("mini2", 6);
        var records = Records(60_000);
        using var client = await ConnectAsync(cluster);
        var killed = new List<string>();
        await IngestAsync(client, records, 100, async acked =>
        {
            if (killed.Count == 0 && acked > 10_000)
            {
                killed.Add("A"); // the first seed: the node the client talked to first
                Assert.Equal(0, (await cluster.RunAsync("cluster", "kill", "A")).ExitCode);
            }
            else if (killed.Count == 1 && acked > 25_000)
            {
                // The placement promises a connected majority after any single failure (and any
                // site split), not after two at once: A shares a partition with every other node
                // on mini2, so A comes back before the second kill.
                Assert.Equal(0, (await cluster.RunAsync("cluster", "restart", "A")).ExitCode);
                var partitions = (await client.Stream(cluster.Addresses()[3]).DescribeAsync(new DescribeRequest())).Partitions;
                var leader = partitions.Select(p => p.Leader).FirstOrDefault(l => l is "C" or "F") ?? "";
                var victim = leader.Length > 0 ? leader : "C";
                killed.Add(victim);
                var kill = await cluster.RunAsync("cluster", "kill", victim);
                Assert.True(kill.ExitCode == 0, $"kill {victim} (a partition leader per D: '{leader}'): {kill}");
            }
        });
        Assert.Equal(2, killed.Count);
        Assert.Equal(records.Count, client.Stats.AckedRecords);
        Assert.Equal(0, (await cluster.RunAsync("cluster", "restart", killed[1])).ExitCode);

        var received = new List<AirQualityRecord>();
        await foreach (var r in client.QueryAsync(new QueryFilter())) received.Add(r);
        AssertExactlyOnce(records, received);
        var count = await client.AggregateAsync(new QueryFilter { Parameters = { "PM2.5" } });
        Assert.Equal((ulong)records.Count(r => r.Parameter == AirParameter.Pm25), count.Records);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_query_resumes_from_its_cursor_after_its_serving_node_is_killed()
    {
        await using var cluster = await LocalCluster.UpAsync("mini2", 6);
        var records = Records(30_000);
        using var client = await ConnectAsync(cluster);
        await IngestAsync(client, records, 500);

        var filter = new QueryFilter { AqiMin = 0 }; // every record with an AQI
        var expected = records.Where(r => r.Aqi >= 0).ToList();
        var received = new List<AirQualityRecord>();
        var pages = 0;
        await foreach (var page in client.QueryPagesAsync(filter, null, 1000))
        {
            received.AddRange(page.Records);
            if (++pages == 3)
                Assert.Equal(0, (await cluster.RunAsync("cluster", "kill", "A")).ExitCode); // A serves the query: the client's first node
        }
        Assert.True(client.Stats.Failovers >= 1, "the query never had to fail over");
        AssertExactlyOnce(expected, received);
    }

    [Fact(Timeout = 240_000)]
    public async Task Bad_input_gets_a_clear_error_and_loses_nothing_acknowledged()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        var records = Records(2_000);
        using var client = await ConnectAsync(cluster);
        await IngestAsync(client, records, 200);
        var stream = client.Stream(cluster.Addresses()[0]);

        var malformed = await Assert.ThrowsAsync<RpcException>(() => stream.AppendAsync(new AppendRequest { Partition = 0, Producer = 9, Sequence = 1, Payload = ByteString.CopyFromUtf8("not a batch") }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        var oversized = await Assert.ThrowsAsync<RpcException>(() => stream.AppendAsync(new AppendRequest { Partition = 0, Producer = 9, Sequence = 1, Payload = ByteString.CopyFrom(new byte[5 << 20]) }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, oversized.StatusCode);
        var noPartition = await Assert.ThrowsAsync<RpcException>(() => stream.AppendAsync(new AppendRequest { Partition = 99, Producer = 9, Sequence = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, noPartition.StatusCode);

        async Task<RpcException> QueryError(QueryRequest request) => await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = stream.Query(request);
            await foreach (var _ in call.ResponseStream.ReadAllAsync()) { }
        });
        var badFilter = await QueryError(new QueryRequest { Filter = new QueryFilter { Parameters = { "SMOG" } } });
        Assert.Equal(StatusCode.InvalidArgument, badFilter.StatusCode);
        Assert.Contains("SMOG", badFilter.Status.Detail);
        var reversed = await QueryError(new QueryRequest { Filter = new QueryFilter { AqiMin = 300, AqiMax = 100 } });
        Assert.Contains("reversed", reversed.Status.Detail);
        var garbage = await QueryError(new QueryRequest { Cursor = ByteString.CopyFromUtf8("garbage cursor") });
        Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);

        byte[]? foreign = null;
        await foreach (var page in client.QueryPagesAsync(new QueryFilter { Parameters = { "CO" } }, null, 50)) { foreign = page.Cursor; break; }
        var wrongQuery = await QueryError(new QueryRequest { Filter = new QueryFilter { Parameters = { "NO2" } }, Cursor = ByteString.CopyFrom(foreign!) });
        Assert.Contains("different query", wrongQuery.Status.Detail);

        var unknownStream = await BraidProcess.RunAsync(TimeSpan.FromSeconds(60), "count", "weather", "--dir", cluster.Directory);
        Assert.Equal(1, unknownStream.ExitCode);
        Assert.Contains("unknown stream 'weather'", unknownStream.Stderr);
        var badCli = await BraidProcess.RunAsync(TimeSpan.FromSeconds(60), "query", "airquality", "--aqi", "500..100", "--dir", cluster.Directory);
        Assert.Equal(1, badCli.ExitCode);
        Assert.Contains("invalid filter", badCli.Stderr);

        // A node that does not lead a partition answers NOT_LEADER, or forwards through the overlay when asked to.
        var partitions = (await stream.DescribeAsync(new DescribeRequest())).Partitions;
        var leaderId = partitions[0].Leader;
        var follower = cluster.Addresses()[cluster.NodeIndex(partitions[0].Replicas.First(r => r != leaderId))];
        var followerStream = client.Stream(follower);
        var batch = ByteString.CopyFrom(RecordBatchCodec.Encode(Records(3).Select(r => r with { AqsId = "F" + r.AqsId }).ToArray()));
        var refused = await followerStream.AppendAsync(new AppendRequest { Partition = 0, Producer = 77, Sequence = 1, Payload = batch });
        Assert.Equal(AppendStatus.NotLeader, refused.Status);
        Assert.Equal(leaderId, refused.Leader);
        var forwarded = await followerStream.AppendAsync(new AppendRequest { Partition = 0, Producer = 77, Sequence = 1, Payload = batch, Forward = true });
        Assert.Equal(AppendStatus.AppendOk, forwarded.Status);
        Assert.False(forwarded.Duplicate);
        var again = await followerStream.AppendAsync(new AppendRequest { Partition = 0, Producer = 77, Sequence = 1, Payload = batch, Forward = true });
        Assert.True(again.Status == AppendStatus.AppendOk && again.Duplicate, "a forwarded retry must be recognised as a duplicate");

        var count = await BraidProcess.RunAsync(TimeSpan.FromSeconds(60), "count", "airquality", "--dir", cluster.Directory);
        Assert.True(count.ExitCode == 0, count.ToString());
        Assert.Equal((records.Count + 3).ToString(System.Globalization.CultureInfo.InvariantCulture), count.Stdout.Trim());
    }
}
