using System.Globalization;
using Braid.Protocol.V1;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// A bit flipped in a sealed segment of a stopped node (issue 11, item 5): the node still starts,
/// quarantines the damaged part, rejoins without a vote and catches up from its leader; no record
/// is lost and its replica ends up holding what the others hold.
/// </summary>
public sealed class CorruptSegmentTests
{
    [Fact(Timeout = 300_000)]
    public async Task A_bit_flip_in_a_sealed_segment_is_repaired_at_start_with_no_record_lost()
    {
        await using var cluster = await LocalCluster.UpAsync("mesh3", 3, true, "--segment-bytes", "4096");
        var records = StreamingTests.Records(6_000);
        using (var client = await StreamingTests.ConnectAsync(cluster))
            await StreamingTests.IngestAsync(client, records, 50);

        var kill = await cluster.RunAsync("cluster", "kill", "C");
        Assert.True(kill.ExitCode == 0, kill.ToString());
        var partitions = Path.Combine(cluster.Directory, "C", "partitions");
        var sealedSegment = Directory.GetDirectories(partitions).Order(StringComparer.Ordinal)
            .Select(d => Directory.GetFiles(d, "*.seg").Order(StringComparer.Ordinal).ToList())
            .First(segments => segments.Count >= 3)[0];
        var partition = uint.Parse(Path.GetFileName(Path.GetDirectoryName(sealedSegment))!, CultureInfo.InvariantCulture);
        using (var file = new FileStream(sealedSegment, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            var b = file.ReadByte();
            file.Position = file.Length / 2;
            file.WriteByte((byte)(b ^ 0x10));
        }

        var restart = await cluster.RunAsync("cluster", "restart", "C");
        Assert.True(restart.ExitCode == 0, restart.ToString());
        var log = Path.Combine(cluster.Directory, "C", "node.log");
        Assert.Contains("quarantined", File.ReadAllText(log));

        // More writes to every partition let the leaders catch C up.
        using (var client = await StreamingTests.ConnectAsync(cluster))
        {
            await using var session = new Braid.Client.IngestSession(client, producer: 43);
            for (var b = 0; b < records.Count / 50; b++)
            {
                var batch = records.Skip(b * 50).Take(50).ToArray();
                await session.SendAsync(b, Braid.Data.RecordBatchCodec.Encode(batch), batch.Length);
            }
            await session.CompleteAsync().WaitAsync(TimeSpan.FromSeconds(120));
        }
        var count = await cluster.RunAsync("count", "airquality");
        Assert.True(count.ExitCode == 0, count.ToString());
        Assert.Equal((2 * records.Count).ToString(CultureInfo.InvariantCulture), count.Stdout.Trim());

        // C's replica of the damaged partition ends up with what A's holds.
        using var clients = new Braid.Cli.Cluster.NodeClients(cluster.Tls);
        var addresses = Braid.Cli.Cluster.ClusterState.Load(cluster.Directory).Nodes.ToDictionary(n => n.Id, n => n.Address);
        PartitionRecordsReply? a = null, c = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            a = await clients.Admin(addresses["A"]).PartitionRecordsAsync(new PartitionRecordsRequest { Partition = partition }, deadline: DateTime.UtcNow.AddSeconds(10));
            c = await clients.Admin(addresses["C"]).PartitionRecordsAsync(new PartitionRecordsRequest { Partition = partition }, deadline: DateTime.UtcNow.AddSeconds(10));
            if (c.AppliedIndex >= a.AppliedIndex && c.Sequences.Count == a.Sequences.Count) break;
            await Task.Delay(500);
        }
        Assert.Equal(a!.Producers, c!.Producers);
        Assert.Equal(a.Sequences, c.Sequences);
        Assert.Contains("caught up after lost state", File.ReadAllText(log));
    }
}
