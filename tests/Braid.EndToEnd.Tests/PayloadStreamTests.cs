using System.Security.Cryptography;
using Braid.Client;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Issue 13 on real processes: a raw stream created at run time on mini2, random binary payloads
/// (0 bytes to 1 MiB, every byte value) written exactly once through a kill -9 of a partition
/// leader, read back byte for byte, and followed live by a subscriber that sees each committed
/// position exactly once; then the bad inputs a user meets, and delete.
/// </summary>
public sealed class PayloadStreamTests
{
    [Fact(Timeout = 300_000)]
    public async Task Binary_payloads_survive_a_leader_kill_and_are_read_and_followed_byte_for_byte()
    {
        await using var cluster = await LocalCluster.UpAsync("mini2", 6);
        using var braid = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = cluster.Addresses(), Tls = cluster.Tls });
        var created = await braid.CreateStreamAsync("payloads", "raw", 3, 3);
        Assert.Equal((uint)3, (uint)created.Partitions.Count);
        // Idempotent; other settings under the same name are refused.
        Assert.Equal(created.Id, (await braid.CreateStreamAsync("payloads", "raw", 3, 3)).Id);
        await Assert.ThrowsAsync<BraidRefusedException>(() => braid.CreateStreamAsync("payloads", "raw", 4, 3));

        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var seen = new Dictionary<(uint, ulong, uint), byte[]>();
        var duplicates = 0;
        var subscriber = Task.Run(async () =>
        {
            await foreach (var chunk in braid.SubscribeAsync("payloads", ct: stop.Token))
                for (var i = 0; i < chunk.RawRecords.Count; i++)
                {
                    var p = chunk.Positions[i];
                    lock (seen)
                        if (!seen.TryAdd((p.Partition, p.Index, p.Ordinal), SHA256.HashData(chunk.RawRecords[i].Value.Span))) duplicates++;
                }
        });

        var random = new Random(13);
        var sent = new List<(uint Partition, byte[] Value, byte[] Key)>();
        const ulong producer = 77;
        var sequences = new ulong[3];
        async Task WriteBatchesAsync(int batches)
        {
            for (var b = 0; b < batches; b++)
            {
                var partition = (uint)(b % 3);
                var records = new List<RawRecord>();
                for (var r = 0; r < 4; r++)
                {
                    var size = random.Next(6) switch { 0 => 0, 1 => 256, 2 => random.Next(1, 100), 3 => random.Next(1000, 20_000), 4 => random.Next(100_000, 300_000), _ => 1 << 20 };
                    var value = new byte[size];
                    random.NextBytes(value);
                    if (size >= 256) for (var v = 0; v < 256; v++) value[v] = (byte)v; // every byte value
                    var key = new byte[random.Next(0, 20)];
                    random.NextBytes(key);
                    var record = new RawRecord { Key = ByteString.CopyFrom(key), Value = ByteString.CopyFrom(value), TimestampMs = -5 + b };
                    record.Headers.Add(new RecordHeader { Key = "n", Value = ByteString.CopyFrom(BitConverter.GetBytes(b)) });
                    records.Add(record);
                    sent.Add((partition, value, key));
                }
                var reply = await braid.AppendRawAsync("payloads", partition, producer, ++sequences[partition], records, stop.Token);
                Assert.Equal(AppendStatus.AppendOk, reply.Status);
            }
        }

        await WriteBatchesAsync(12);
        // Kill -9 the node that leads partition 0 of the stream, then keep writing.
        var leader = (await LeaderOfAsync(braid, "payloads", 0))!;
        Assert.NotNull(leader);
        var kill = await cluster.RunAsync("cluster", "kill", leader);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        await WriteBatchesAsync(12);

        // Read back: every record once, byte for byte, in producer order within each partition.
        var read = new List<(uint Partition, RawRecord Record)>();
        await foreach (var chunk in braid.ReadRawAsync("payloads", ct: stop.Token))
            for (var i = 0; i < chunk.Records.Count; i++) read.Add((chunk.Positions[i].Partition, chunk.Records[i]));
        Assert.Equal(sent.Count, read.Count);
        for (uint p = 0; p < 3; p++)
        {
            var expected = sent.Where(s => s.Partition == p).ToList();
            var actual = read.Where(r => r.Partition == p).Select(r => r.Record).ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.True(expected[i].Value.AsSpan().SequenceEqual(actual[i].Value.Span), $"partition {p} record {i}: value differs");
                Assert.True(expected[i].Key.AsSpan().SequenceEqual(actual[i].Key.Span), $"partition {p} record {i}: key differs");
                Assert.Single(actual[i].Headers);
            }
        }

        // The live subscriber got every committed position exactly once.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            lock (seen) if (seen.Count >= sent.Count) break;
            await Task.Delay(200);
        }
        await stop.CancelAsync();
        await Task.WhenAny(subscriber, Task.Delay(10_000));
        lock (seen)
        {
            Assert.Equal(sent.Count, seen.Count);
            Assert.Equal(0, duplicates);
            var hashes = sent.Select(s => Convert.ToHexString(SHA256.HashData(s.Value))).Order().ToList();
            Assert.Equal(hashes, seen.Values.Select(Convert.ToHexString).Order().ToList());
        }

        // One record at a time through the batching producer: each acknowledged with its own position, read back there.
        await braid.CreateStreamAsync("small", "raw", 2, 3);
        var values = Enumerable.Range(0, 5000).Select(i => { var v = new byte[150]; BitConverter.TryWriteBytes(v, i); return v; }).ToList();
        var acks = await Task.WhenAll(values.Select(v => braid.ProduceAsync("small", v.AsMemory(0, 4), v)));
        Assert.Equal(values.Count, acks.Select(a => (a.Partition, a.Index, a.Ordinal)).Distinct().Count());
        // Batches sealed while their partition's append was in flight went out joined in one
        // append: more records in one entry than one batch holds (BatchRecordsMax, 1,000).
        Assert.True(acks.GroupBy(a => (a.Partition, a.Index)).Max(g => g.Count()) > new ProducerOptions().BatchRecordsMax);
        var stored = new Dictionary<(uint, ulong, uint), byte[]>();
        await foreach (var chunk in braid.ReadRawAsync("small"))
            for (var i = 0; i < chunk.Records.Count; i++) stored[(chunk.Positions[i].Partition, chunk.Positions[i].Index, chunk.Positions[i].Ordinal)] = chunk.Records[i].Value.ToByteArray();
        Assert.Equal(values.Count, stored.Count);
        for (var i = 0; i < values.Count; i++) Assert.Equal(values[i], stored[(acks[i].Partition, acks[i].Index, acks[i].Ordinal)]);

        // Bad input: clear errors of the right kind.
        await Assert.ThrowsAsync<BraidNotFoundException>(() => braid.AppendRawAsync("no-such-stream", 0, 1, 1, [new RawRecord()]));
        await Assert.ThrowsAsync<BraidNotFoundException>(() => braid.AppendRawAsync("payloads", 9, 1, 1, [new RawRecord()]));
        var oversized = await Assert.ThrowsAsync<BraidRefusedException>(() => braid.AppendRawAsync("payloads", 0, 3, 1, [new RawRecord { Value = ByteString.CopyFrom(new byte[5 << 20]) }]));
        Assert.Contains("exceeds ValueBytesMax", oversized.Message);
        // The node refuses it too, for a client that does not check first (a raw gRPC call).
        // A node that is up: the one killed above may be the first.
        var alive = cluster.Addresses().Where((_, i) => i != cluster.NodeIndex(leader)).First();
        var direct = new Protocol.V1.Stream.StreamClient(cluster.Channel(alive));
        var tooMany = new AppendRequest { Stream = "payloads", Partition = 0, Producer = 4, Sequence = 1 };
        for (var i = 0; i < 5; i++) tooMany.Records.Add(new RawRecord { Value = ByteString.CopyFrom(new byte[900_000]) });
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => direct.AppendAsync(tooMany).ResponseAsync);
        Assert.True(refused.StatusCode is Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.ResourceExhausted, refused.ToString());
        var badHeader = new RawRecord();
        badHeader.Headers.Add(new RecordHeader { Key = "", Value = ByteString.Empty });
        await Assert.ThrowsAsync<BraidRefusedException>(() => braid.AppendRawAsync("payloads", 0, 2, 1, [badHeader]));
        var airCursor = (await braid.QueryPagesAsync(new QueryFilter(), null, 0).FirstAsync()).Cursor;
        var foreign = await Assert.ThrowsAsync<BraidRefusedException>(async () => { await foreach (var _ in braid.ReadRawAsync("payloads", airCursor)) { } });
        Assert.Contains("belongs to stream 'airquality'", foreign.Message);

        Assert.True(await braid.DeleteStreamAsync("payloads"));
        Assert.DoesNotContain((await braid.ListStreamsAsync()).Streams, s => s.Name == "payloads");
        Assert.False(await braid.DeleteStreamAsync("payloads"));
    }

    /// <summary>The node whose replica of the stream's partition says it leads, asking every node.</summary>
    internal static async Task<string?> LeaderOfAsync(BraidClient braid, string stream, uint partition)
    {
        foreach (var node in braid.Nodes)
        {
            try
            {
                var reply = await braid.Stream(node).ListStreamsAsync(new ListStreamsRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
                var p = reply.Streams.First(s => s.Name == stream).Partitions[(int)partition];
                if (p.LocalRole == "Leader") return p.Leader;
            }
            catch (Grpc.Core.RpcException)
            {
            }
        }
        return null;
    }
}
