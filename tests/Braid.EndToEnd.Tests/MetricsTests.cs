using System.Globalization;
using Braid.Cli.Bench;
using Braid.Cli.Cluster;
using Google.Protobuf;

namespace Braid.EndToEnd.Tests;

/// <summary>Issue 14, item 1: the Prometheus endpoint of real node processes, scraped during a load.</summary>
public sealed class MetricsTests
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 240_000)]
    public async Task Leader_changes_commit_index_and_fsync_latency_move_between_two_scrapes_under_load()
    {
        await using var cluster = await LocalCluster.UpWithMetricsAsync("mesh3", 3, "--partitions", "3");
        var ids = new[] { "A", "B", "C" };
        var addresses = ReplicationTests.NodeAddresses(cluster);
        using var clients = new NodeClients(cluster.Tls);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var writer = new PartitionWriter(clients, addresses);
        var payload = ByteString.CopyFrom(Braid.Data.RecordBatchCodec.Encode(StreamingTests.Records(10).ToArray()));
        using var stopLoad = new CancellationTokenSource();
        var acked = 0;
        var load = Task.Run(async () =>
        {
            var sequences = new ulong[3];
            for (var n = 0; !stopLoad.IsCancellationRequested; n++)
            {
                var partition = (uint)(n % 3);
                await writer.WriteAsync(partition, 11, ++sequences[partition], payload, StepTimeout, stopLoad.Token);
                Interlocked.Increment(ref acked);
            }
        });
        try
        {
            await UntilAsync(() => Task.FromResult(Volatile.Read(ref acked) >= 30), "30 batches acknowledged", load);
            var before = new Dictionary<string, Scrape>();
            foreach (var id in ids) before[id] = await ScrapeAsync(http, cluster, id);

            // A failover under the load: every survivor sees a new leader for what the victim led.
            var victim = await writer.FindLeaderAsync(0, CancellationToken.None);
            Assert.NotNull(victim);
            var kill = await cluster.RunAsync("cluster", "kill", victim!);
            Assert.True(kill.ExitCode == 0, kill.ToString());
            var survivors = ids.Where(id => id != victim).ToList();
            var ackedAtKill = Volatile.Read(ref acked);

            var after = new Dictionary<string, Scrape>();
            await UntilAsync(async () =>
            {
                foreach (var id in survivors) after[id] = await ScrapeAsync(http, cluster, id);
                return Volatile.Read(ref acked) >= ackedAtKill + 30 && survivors.All(id => Moved(before[id], after[id]));
            }, "30 more batches acknowledged and every survivor's metrics moved", load);

            foreach (var id in survivors)
            {
                var (b, a) = (before[id], after[id]);
                var where = $"node {id}\nbefore:\n{b.Text}\nafter:\n{a.Text}";
                Assert.True(a.Sum("braid_raft_leader_changes_total") > b.Sum("braid_raft_leader_changes_total"), where);
                Assert.True(a.Sum("braid_raft_commit_index") > b.Sum("braid_raft_commit_index"), where);
                Assert.True(a.Sum("braid_storage_fsync_duration_seconds_count") > b.Sum("braid_storage_fsync_duration_seconds_count"), where);
                Assert.True(a.Sum("braid_storage_fsync_duration_seconds_sum") > b.Sum("braid_storage_fsync_duration_seconds_sum"), where);
                Assert.Equal(0, a.Sum("braid_raft_partitions_failed"));
            }
            // Records acknowledged through the survivors: the writer moved to them after the kill.
            Assert.True(survivors.Sum(id => after[id].Sum("braid_stream_records_appended_total")) > survivors.Sum(id => before[id].Sum("braid_stream_records_appended_total")));
        }
        finally
        {
            await stopLoad.CancelAsync();
            // Stopped mid-call, the writer ends with a cancellation of some kind: expected here.
            try { await load.WaitAsync(StepTimeout); } catch (Exception) when (stopLoad.IsCancellationRequested) { }
        }
    }

    private static bool Moved(Scrape before, Scrape after) =>
        after.Sum("braid_raft_leader_changes_total") > before.Sum("braid_raft_leader_changes_total")
        && after.Sum("braid_raft_commit_index") > before.Sum("braid_raft_commit_index")
        && after.Sum("braid_storage_fsync_duration_seconds_count") > before.Sum("braid_storage_fsync_duration_seconds_count");

    private static async Task<Scrape> ScrapeAsync(HttpClient http, LocalCluster cluster, string id)
    {
        var port = cluster.MetricsBasePort!.Value + cluster.NodeIndex(id);
        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Assert.True(response.IsSuccessStatusCode, $"GET /metrics on {id}: {(int)response.StatusCode}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType ?? "");
        return new Scrape(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <see cref="StepTimeout"/> or if the load failed.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition, string what, Task load)
    {
        var deadline = DateTime.UtcNow + StepTimeout;
        while (!await condition())
        {
            if (load.IsFaulted) await load; // the load's own error says more
            Assert.True(DateTime.UtcNow < deadline, $"not within {StepTimeout.TotalSeconds} s: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>One scrape in Prometheus text format: `name{labels} value` lines.</summary>
    private sealed record Scrape(string Text)
    {
        /// <summary>The sum of every sample of <paramref name="name"/> (all label sets); 0 when absent.</summary>
        public double Sum(string name) => Text.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => (Name: line[..line.IndexOfAny(['{', ' '])], Value: line[(line.LastIndexOf(' ') + 1)..]))
            .Where(sample => sample.Name == name)
            .Sum(sample => double.Parse(sample.Value, CultureInfo.InvariantCulture));
    }
}
