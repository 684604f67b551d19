using System.Globalization;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// Issue 14, item 4: `braid cluster rolling-restart` restarts every node, one at a time, while an
/// exactly-once load runs; every node comes back as a new process and every acknowledged record is
/// stored exactly once. (The longest time without an acknowledgement is a figure of `braid bench
/// rolling`, not asserted here: timing bounds belong in benchmarks.)
/// </summary>
public sealed class RollingRestartTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_rolling_restart_under_load_restarts_every_node_and_loses_or_duplicates_nothing()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        var pidsBefore = cluster.RecordedPids();
        var records = StreamingTests.Records(100);
        var payload = Braid.Data.RecordBatchCodec.Encode(records.ToArray());
        long sent = 0;
        using var client = await StreamingTests.ConnectAsync(cluster);
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            await using var session = new Braid.Client.IngestSession(client, producer: 77);
            for (var b = 0; !stop.IsCancellationRequested; b++)
            {
                await session.SendAsync(b, payload, records.Count);
                Interlocked.Add(ref sent, records.Count);
                await Task.Delay(5);
            }
            await session.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(120));
        });

        await Task.Delay(1000);
        var rolling = await cluster.RunAsync("cluster", "rolling-restart");
        await stop.CancelAsync();
        await load.WaitAsync(TimeSpan.FromSeconds(150));
        Assert.True(rolling.ExitCode == 0, rolling.ToString());
        Assert.Contains("rolling restart done: 3 nodes restarted, 3 of them gracefully", rolling.Stdout);
        Assert.Contains("handed off", string.Concat(Enumerable.Range(0, 3).Select(i =>
            File.ReadAllText(Path.Combine(cluster.Directory, "ABC"[i].ToString(), "node.log")))));

        var pidsAfter = cluster.RecordedPids();
        Assert.Equal(3, pidsAfter.Count);
        Assert.Empty(pidsAfter.Intersect(pidsBefore));
        Assert.True(Interlocked.Read(ref sent) > 1_000, $"the load barely ran: {sent} records");
        var count = await cluster.RunAsync("count", "airquality");
        Assert.True(count.ExitCode == 0, count.ToString());
        Assert.Equal(Interlocked.Read(ref sent).ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());
    }
}
