using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Cli.Bench;

/// <summary>
/// How fast a replica that was down while its partition took N MiB of writes catches up, in one
/// run, two ways: from the leader's log (retention off: every missed entry is sent) and from a
/// snapshot (retention on: the leader compacted past the replica, which installs the snapshot and
/// then receives only the retained log). Also the replica's log on disk afterwards.
/// </summary>
internal static class CatchUpBench
{
    private const int Producers = 8;

    /// <summary>Runs the log-replay run, then the snapshot run, each on a fresh cluster; prints a line for each and returns the figures.</summary>
    public static async Task<Json.CatchUpBenchReport> RunAsync(string topology, int mib, int retainMib, string directory, int basePort, TextWriter output, CancellationToken ct)
    {
        output.WriteLine($"catch-up on {topology}: a follower of partition 0 is down while {mib} MiB are written, then restarts");
        // Batches of 1,000 records (about 38 KiB), as braid load sends them.
        var payload = ByteString.CopyFrom(Braid.Data.RecordBatchCodec.Encode(Braid.Data.AirQualityGenerator.Generate(1, 1000).SelectMany(f => f.Records).Take(1000).ToArray()));
        var runs = new List<Json.CatchUpRunReport>();
        foreach (var retainBytes in new[] { 0L, (long)retainMib << 20 })
        {
            var mode = retainBytes == 0 ? "log replay (no retention)" : $"snapshot (retain {retainMib} MiB)";
            var segmentBytes = retainBytes == 0 ? Braid.Node.NodeOptions.DefaultSegmentBytes : Math.Max(1L << 20, retainBytes / 4);
            await using var cluster = await BenchCluster.StartAsync(topology, directory, basePort, TextWriter.Null, ct, partitions: 1, retainBytes, segmentBytes).ConfigureAwait(false);
            var writer = new PartitionWriter(cluster.Clients, cluster.State.Nodes.Select(n => n.Address).ToList());
            var sequences = new ulong[Producers];
            await WriteAsync(writer, sequences, payload, 20, ct).ConfigureAwait(false);
            var leader = await writer.WaitForLeaderAsync(0, ct).ConfigureAwait(false);
            var description = await DescribeAsync(cluster, leader, ct).ConfigureAwait(false);
            var follower = description.Replicas.First(r => r != leader);
            cluster.Manager.Kill(follower);

            var batches = (int)Math.Ceiling((double)mib * (1 << 20) / payload.Length);
            var writeClock = Stopwatch.StartNew();
            await WriteAsync(writer, sequences, payload, batches, ct).ConfigureAwait(false);
            var writeSeconds = writeClock.Elapsed.TotalSeconds;
            leader = await writer.WaitForLeaderAsync(0, ct).ConfigureAwait(false);
            var target = (await DescribeAsync(cluster, leader, ct).ConfigureAwait(false)).CommitIndex;

            var restartClock = Stopwatch.StartNew();
            await cluster.Manager.RestartAsync(follower, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            var serving = restartClock.Elapsed;
            var caughtUp = await WaitAppliedAsync(cluster, follower, target, TimeSpan.FromMinutes(5), ct).ConfigureAwait(false);
            var records = await cluster.Clients.Admin(cluster.Address(follower)).PartitionRecordsAsync(new PartitionRecordsRequest { Partition = 0 }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct).ConfigureAwait(false);
            var logBytes = Directory.EnumerateFiles(Path.Combine(cluster.State.Node(follower).DataDirectory, "partitions", "000"), "*.seg").Sum(f => new FileInfo(f).Length);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {mode,-28} wrote {batches * (long)payload.Length / (1 << 20),5} MiB in {writeSeconds,5:F1} s; {follower} serving after {serving.TotalMilliseconds,6:F0} ms, caught up (applied {target}) {caughtUp.TotalMilliseconds,6:F0} ms later; snapshots installed {records.SnapshotsInstalled}, log on its disk {logBytes / (1 << 20),4} MiB"));
            runs.Add(new Json.CatchUpRunReport(retainBytes == 0 ? "log" : "snapshot", retainBytes, follower, batches * (long)payload.Length, Math.Round(writeSeconds, 3),
                Math.Round(serving.TotalMilliseconds, 1), Math.Round(caughtUp.TotalMilliseconds, 1), target, records.SnapshotsInstalled, logBytes));
        }
        return new Json.CatchUpBenchReport(topology, mib, retainMib, runs);
    }

    /// <summary>Writes <paramref name="batches"/> batches to partition 0 from several producers at once (each in order).</summary>
    private static Task WriteAsync(PartitionWriter writer, ulong[] sequences, ByteString payload, int batches, CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, Producers).Select(async p =>
        {
            for (var i = p; i < batches; i += Producers)
                await writer.WriteAsync(0, (ulong)(100 + p), ++sequences[p], payload, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        }));

    private static async Task<PartitionDescription> DescribeAsync(BenchCluster cluster, string node, CancellationToken ct)
    {
        var reply = await new Protocol.V1.Stream.StreamClient(cluster.Clients.Channel(cluster.Address(node))).DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ConfigureAwait(false);
        return reply.Partitions[0];
    }

    private static async Task<TimeSpan> WaitAppliedAsync(BenchCluster cluster, string node, ulong target, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                if ((await DescribeAsync(cluster, node, ct).ConfigureAwait(false)).AppliedIndex >= target) return clock.Elapsed;
            }
            catch (Grpc.Core.RpcException)
            {
            }
            await Task.Delay(10, ct).ConfigureAwait(false);
        }
        throw new CliException($"{node} did not apply up to {target} within {timeout.TotalSeconds} s");
    }
}
