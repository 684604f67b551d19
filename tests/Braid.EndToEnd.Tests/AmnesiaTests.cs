using System.Globalization;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// A node whose data folder is wiped and which is restarted into its running cluster must not
/// vote as if it were new (Raft amnesia: the fault lab lost acknowledged batches exactly so).
/// `braid cluster restart` starts it with --initial-cluster-state existing: each replica rejoins
/// without a vote until it has caught up, and says so in the node's log.
/// </summary>
public sealed class AmnesiaTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_wiped_node_restarted_into_its_cluster_rejoins_without_a_vote_until_caught_up()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        var records = StreamingTests.Records(3_000);
        using (var client = await StreamingTests.ConnectAsync(cluster))
            await StreamingTests.IngestAsync(client, records, 100);

        var kill = await cluster.RunAsync("cluster", "kill", "C");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        var data = Path.Combine(cluster.Directory, "C");
        foreach (var entry in Directory.EnumerateFileSystemEntries(data).Where(e => Path.GetFileName(e) != "node.log").ToList())
            if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);

        var restart = await cluster.RunAsync("cluster", "restart", "C");
        Assert.True(restart.ExitCode == 0, restart.ToString());
        // More writes let every partition's leader catch C up, after which it votes again.
        using (var client = await StreamingTests.ConnectAsync(cluster))
        {
            await using var session = new Braid.Client.IngestSession(client, producer: 43);
            for (var b = 0; b < records.Count / 100; b++)
            {
                var batch = records.Skip(b * 100).Take(100).ToArray();
                await session.SendAsync(b, Braid.Data.RecordBatchCodec.Encode(batch), batch.Length);
            }
            await session.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(120));
        }

        var log = Path.Combine(data, "node.log");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.ReadAllText(log).Contains("caught up after lost state", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            await Task.Delay(500);
        var text = File.ReadAllText(log);
        Assert.Contains("may have lost persisted state", text);
        Assert.Contains("rejoins without a vote", text);
        Assert.Contains("caught up after lost state", text);

        var count = await cluster.RunAsync("count", "airquality");
        Assert.True(count.ExitCode == 0, count.ToString());
        Assert.Equal((2 * records.Count).ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());

        // Once every replica C lost has caught up, a stream created now never had a replica on C:
        // C opens it as new, not as lost.
        deadline = DateTime.UtcNow.AddSeconds(60);
        while (Occurrences(File.ReadAllText(log), "caught up after lost state") < Occurrences(File.ReadAllText(log), "may have lost persisted state") && DateTime.UtcNow < deadline)
            await Task.Delay(500);
        var lost = Occurrences(File.ReadAllText(log), "may have lost persisted state");
        Assert.Equal(lost, Occurrences(File.ReadAllText(log), "caught up after lost state"));
        var opened = Occurrences(File.ReadAllText(log), "streams: replica of ");
        using (var client = await StreamingTests.ConnectAsync(cluster))
        {
            await client.CreateStreamAsync("after-wipe", "raw", 1, 3);
            var record = new Braid.Protocol.V1.RawRecord { Key = Google.Protobuf.ByteString.CopyFromUtf8("k"), Value = Google.Protobuf.ByteString.CopyFromUtf8("v") };
            var reply = await client.AppendRawAsync("after-wipe", 0, producer: 7, sequence: 1, [record]).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(Braid.Protocol.V1.AppendStatus.AppendOk, reply.Status);
        }
        deadline = DateTime.UtcNow.AddSeconds(10);
        while (Occurrences(File.ReadAllText(log), "streams: replica of ") == opened && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.Equal(opened + 1, Occurrences(File.ReadAllText(log), "streams: replica of "));
        Assert.Equal(lost, Occurrences(File.ReadAllText(log), "may have lost persisted state"));
    }

    private static int Occurrences(string text, string what)
    {
        var n = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>
    /// A restart with the data folder intact (`braid cluster restart` also passes
    /// --initial-cluster-state existing) must not make the node treat replicas of streams created
    /// later as lost: with two of a new stream's three replicas on restarted nodes, neither voted,
    /// no leader was ever elected and every append timed out (the demo's CI run did exactly that).
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task A_stream_created_after_nodes_were_restarted_into_their_cluster_takes_writes()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3);
        foreach (var node in new[] { "B", "C" })
        {
            var restart = await cluster.RunAsync("cluster", "restart", node);
            Assert.True(restart.ExitCode == 0, restart.ToString());
        }
        using var client = await Braid.Client.BraidClient.ConnectAsync(new Braid.Client.BraidClientOptions
        {
            Seeds = cluster.Addresses(), Tls = cluster.Tls, StallTimeout = TimeSpan.FromSeconds(30),
        });
        await client.CreateStreamAsync("after-restart", "raw", 1, 3);
        var record = new Braid.Protocol.V1.RawRecord { Key = Google.Protobuf.ByteString.CopyFromUtf8("k"), Value = Google.Protobuf.ByteString.CopyFromUtf8("v") };
        var reply = await client.AppendRawAsync("after-restart", 0, producer: 7, sequence: 1, [record]).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Braid.Protocol.V1.AppendStatus.AppendOk, reply.Status);
        foreach (var node in new[] { "B", "C" })
            Assert.DoesNotContain("may have lost persisted state", File.ReadAllText(Path.Combine(cluster.Directory, node, "node.log")));
    }
}
