using Braid.Client;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Issue 13, item 4, on real processes: a durable consumer commits after processing, dies, and
/// resumes at its committed position from another node even after the leader of a partition was
/// killed; it sees every record at least once and nothing before its commit again.
/// </summary>
public sealed class ConsumerTests
{
    [Fact(Timeout = 240_000)]
    public async Task A_durable_consumer_resumes_after_its_last_commit_from_any_node_across_a_leader_kill()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        var addresses = cluster.Addresses();
        using var braid = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = addresses, Tls = cluster.Tls });
        await braid.CreateStreamAsync("events", "raw", 2, 3);
        ulong[] sequences = [0, 0];
        async Task WriteAsync(int from, int count)
        {
            for (var i = from; i < from + count; i += 50)
            {
                var partition = (uint)(i / 50 % 2);
                var batch = Enumerable.Range(i, Math.Min(50, from + count - i)).Select(n => new RawRecord { Value = ByteString.CopyFromUtf8($"event-{n}") });
                await braid.AppendRawAsync("events", partition, 9, ++sequences[partition], batch);
            }
        }
        await WriteAsync(0, 1000);

        // First life: process until 600 records are in, committing after each chunk, then die.
        var firstLife = new HashSet<string>();
        using (var die = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await braid.ConsumeAsync("events", "audit", async (chunk, ct) =>
            {
                foreach (var r in chunk.RawRecords) firstLife.Add(r.Value.ToStringUtf8());
                if (firstLife.Count >= 600) await die.CancelAsync();
            }, ct: die.Token);
        }
        Assert.True(firstLife.Count >= 600, $"first life saw {firstLife.Count}");

        // Kill the leader of partition 0 and write more, then resume with a client of one other node.
        var leader = await PayloadStreamTests.LeaderOfAsync(braid, "events", 0);
        Assert.NotNull(leader);
        var kill = await cluster.RunAsync("cluster", "kill", leader!);
        Assert.True(kill.ExitCode == 0, kill.ToString());
        await WriteAsync(1000, 500);
        var other = addresses.Where((_, i) => i != cluster.NodeIndex(leader!)).First();
        using var second = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = [other], Tls = cluster.Tls });
        var secondLife = new List<string>();
        using (var done = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
        {
            await second.ConsumeAsync("events", "audit", (chunk, ct) =>
            {
                secondLife.AddRange(chunk.RawRecords.Select(r => r.Value.ToStringUtf8()));
                if (firstLife.Union(secondLife).Count() >= 1500) done.Cancel();
                return Task.CompletedTask;
            }, ct: done.Token);
        }
        var all = firstLife.Union(secondLife).ToHashSet();
        Assert.Equal(1500, all.Count); // at least once: every record
        // Nothing committed before the death comes again: the second life starts after the first's commits,
        // so it repeats at most the last uncommitted chunk of each partition (chunks are at most 1000 records).
        var repeated = secondLife.Count(firstLife.Contains);
        Assert.True(repeated < firstLife.Count, $"the second life repeated {repeated} of the first life's {firstLife.Count} records: it did not resume at the commit");
        Assert.Equal(secondLife.Count, secondLife.Distinct().Count());

        // A consumer that committed nothing starts where it is told to.
        var fresh = new List<string>();
        await foreach (var chunk in second.SubscribeAsync("events", SubscribeRequest.Types.Start.Beginning, null, 0, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token, "new-consumer"))
        {
            fresh.AddRange(chunk.RawRecords.Select(r => r.Value.ToStringUtf8()));
            if (fresh.Count >= 1500) break;
        }
        Assert.Equal(1500, fresh.Distinct().Count());
        await Assert.ThrowsAsync<BraidRefusedException>(() => second.CommitPositionAsync("events", new string('x', 200), new byte[] { 8, 1 }));
    }
}
