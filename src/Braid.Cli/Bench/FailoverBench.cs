using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Cluster;
using Google.Protobuf;

namespace Braid.Cli.Bench;

/// <summary>
/// Failover time: a writer appends to partition 0 one batch after another; the partition's
/// leader is killed with SIGKILL; one sample is the time from the kill to the next acknowledged
/// (committed) write. The killed node is restarted before the next trial. With <c>pause</c> the
/// leader is frozen with SIGSTOP instead: its links stay open, so only the failure detector's phi
/// (or Raft's election timeout) notices; it is resumed (and steps down) before the next trial.
/// </summary>
internal static class FailoverBench
{
    public static async Task<Json.FailoverBenchReport> RunAsync(string topology, int trials, string directory, int basePort, TextWriter output, CancellationToken ct, bool pause = false)
    {
        await using var cluster = await BenchCluster.StartAsync(topology, directory, basePort, TextWriter.Null, ct, partitions: 3).ConfigureAwait(false);
        var writer = new PartitionWriter(cluster.Clients, cluster.State.Nodes.Select(n => n.Address).ToList(), TimeSpan.FromMilliseconds(300));
        var payload = ByteString.CopyFrom(SampleBatch());
        ulong sequence = 0;
        var samples = new List<double>();
        var trialReports = new List<Json.FailoverTrialReport>();
        var what = pause ? "SIGSTOP" : "kill -9";
        var done = pause ? "stopped" : "killed";
        output.WriteLine($"failover on {topology}: {what} the leader of partition 0 under a steady write load, {trials} trials");
        for (var trial = 1; trial <= trials; trial++)
        {
            for (var i = 0; i < 20; i++) await writer.WriteAsync(0, 1, ++sequence, payload, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            var leader = await writer.WaitForLeaderAsync(0, ct).ConfigureAwait(false);
            var writes = Task.Run(async () =>
            {
                // (sent, acknowledged) of each write; the sample ends with the first write sent after
                // the kill, so an acknowledgement already on its way when the leader died does not count.
                var acks = new List<(long Sent, long Acked)>();
                for (var i = 0; i < 1_000_000 && !ct.IsCancellationRequested; i++)
                {
                    var sent = Stopwatch.GetTimestamp();
                    await writer.WriteAsync(0, 1, ++sequence, payload, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                    acks.Add((sent, Stopwatch.GetTimestamp()));
                    var kill = Volatile.Read(ref killedAt);
                    if (kill != 0 && sent > kill) break;
                }
                return acks;
            }, ct);
            await Task.Delay(200, ct).ConfigureAwait(false);
            Volatile.Write(ref killedAt, Stopwatch.GetTimestamp());
            if (pause) cluster.Manager.Pause(leader); else cluster.Manager.Kill(leader);
            var acks = await writes.ConfigureAwait(false);
            var first = acks.First(a => a.Sent > killedAt).Acked;
            var ms = Stopwatch.GetElapsedTime(killedAt, first).TotalMilliseconds;
            samples.Add(ms);
            trialReports.Add(new Json.FailoverTrialReport(trial, leader, Math.Round(ms, 1)));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  trial {trial,2}: leader {leader} {done}, next commit after {ms,7:F1} ms"));
            Volatile.Write(ref killedAt, 0);
            if (pause) cluster.Manager.Resume(leader);
            else await cluster.Manager.RestartAsync(leader, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        }
        samples.Sort();
        var report = new Json.FailoverBenchReport(topology, pause ? "pause" : "kill", trialReports,
            Math.Round(RerouteBench.Percentile(samples, 0.5), 1), Math.Round(RerouteBench.Percentile(samples, 0.9), 1), Math.Round(samples[^1], 1), Math.Round(samples[0], 1),
            pause ? null : TargetMedianMs, writer.Retries);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"failover ms: median {report.MedianMs:F0}  p90 {report.P90Ms:F0}  worst {report.WorstMs:F0}  best {report.BestMs:F0}  ({(pause ? "no target: phi-bound" : $"target: median <= {TargetMedianMs:F0}")}); writer retries {writer.Retries}"));
        return report;
    }

    private const double TargetMedianMs = 200;

    private static long killedAt;

    /// <summary>A small valid record batch (the nodes refuse payloads that are not record batches).</summary>
    private static byte[] SampleBatch() =>
        Braid.Data.RecordBatchCodec.Encode(Braid.Data.AirQualityGenerator.Generate(1, 1032).First().Records.ToArray());
}
