using System.Diagnostics;
using System.Globalization;
using Braid.Client;

namespace Braid.Cli.Bench;

/// <summary>
/// Rolling restart under load (issue 14, item 4): a paced exactly-once load runs while
/// `cluster rolling-restart` restarts every node; the figure is the longest time without any
/// acknowledgement while the restart runs, then the stored count must equal what was sent.
/// </summary>
internal static class RollingBench
{
    private const int Partitions = 12;
    private const double TargetLongestGapMs = 200;

    /// <summary>Starts a cluster, restarts every node under the load, prints the figures and returns them.</summary>
    public static async Task<Json.RollingBenchReport> RunAsync(string topology, int batchRecords, int batchesPerSecond, string directory, int basePort, TextWriter output, CancellationToken ct)
    {
        var (batches, _) = BenchLoad.Encode(1, 50_000, batchRecords);
        output.WriteLine($"rolling restart on {topology}: {Partitions} partitions, R=3, a load of {batchesPerSecond} batches/s of {batchRecords} records through one exactly-once session");
        await using var cluster = await BenchCluster.StartAsync(topology, directory, basePort, TextWriter.Null, ct, partitions: Partitions).ConfigureAwait(false);
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        await BenchLoad.WaitForLeadersAsync(seeds, cluster.Tls, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        using var client = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
        using var stop = new CancellationTokenSource();
        long sentRecords = 0;
        var clock = Stopwatch.StartNew();
        var load = Task.Run(async () =>
        {
            await using var session = new IngestSession(client, producer: 1, ct: ct);
            var interval = TimeSpan.FromSeconds(1.0 / Math.Max(1, batchesPerSecond));
            for (var b = 0; !stop.IsCancellationRequested; b++)
            {
                var due = interval * b;
                if (clock.Elapsed < due) await Task.Delay(due - clock.Elapsed, ct).ConfigureAwait(false);
                var batch = batches[b % batches.Count];
                await session.SendAsync(b, batch.Payload, batch.Records, ct).ConfigureAwait(false);
                Interlocked.Add(ref sentRecords, batch.Records);
            }
            await session.CompleteAsync(ct).ConfigureAwait(false);
        }, ct);

        // The gap: sampled every millisecond, the longest time the acknowledged count stood still
        // while batches were due (the load never pauses on its own).
        var measuring = false;
        var gaps = new List<(double Ms, double At)>();
        var sampler = Task.Run(async () =>
        {
            var last = client.Stats.AckedBatches;
            var since = clock.Elapsed;
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
                var now = client.Stats.AckedBatches;
                if (now == last) continue;
                var gap = (clock.Elapsed - since).TotalMilliseconds;
                if (Volatile.Read(ref measuring)) lock (gaps) gaps.Add((gap, clock.Elapsed.TotalSeconds));
                last = now;
                since = clock.Elapsed;
            }
        }, CancellationToken.None);

        await Task.Delay(2000, ct).ConfigureAwait(false); // the load in its stride first
        Volatile.Write(ref measuring, true);
        var restartStart = clock.Elapsed;
        var steps = await cluster.Manager.RollingRestartAsync(TimeSpan.FromSeconds(60), Cluster.ClusterManager.SettleDefault, ct).ConfigureAwait(false);
        var restartEnd = clock.Elapsed;
        // Leadership goes back to the last node restarted 2-4 s after it caught up (two preferred-
        // leader checks); the restart's own settle covers 3 s of that, these 3 s the rest.
        await Task.Delay(3000, ct).ConfigureAwait(false);
        Volatile.Write(ref measuring, false);
        await stop.CancelAsync().ConfigureAwait(false);
        await load.ConfigureAwait(false);
        await sampler.ConfigureAwait(false);

        var sorted = gaps.Select(g => g.Ms).Order().ToList();
        var worst = gaps.Count == 0 ? (0.0, 0.0) : gaps.MaxBy(g => g.Ms);
        var p99 = sorted.Count == 0 ? 0 : RerouteBench.Percentile(sorted, 0.99);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"restarted {steps.Count} nodes ({steps.Count(s => s.Graceful)} gracefully) in {(restartEnd - restartStart).TotalSeconds:F1} s; node exits after {string.Join(", ", steps.Select(s => $"{s.Node} {s.Stopped.TotalMilliseconds:F0} ms"))}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"longest time without an acknowledgement: {worst.Item1:F0} ms (at {worst.Item2 - restartStart.TotalSeconds:F1} s into the restart); p99 of gaps {p99:F0} ms over {sorted.Count} acknowledgements (target: longest < {TargetLongestGapMs:F0} ms); retries {client.Stats.Retries}, failovers {client.Stats.Failovers}"));
        output.WriteLine("  longest gaps: " + string.Join(", ", gaps.OrderByDescending(g => g.Ms).Take(5).Select(g =>
            string.Create(CultureInfo.InvariantCulture, $"{g.Ms:F0} ms ending {g.At - restartStart.TotalSeconds:F2} s"))));
        var offset = TimeSpan.Zero;
        var stepReports = new List<Json.RollingStepReport>();
        foreach (var step in steps)
        {
            stepReports.Add(new Json.RollingStepReport(step.Node, step.Graceful, Math.Round(offset.TotalSeconds, 3), Math.Round((offset + step.Stopped).TotalSeconds, 3),
                Math.Round((offset + step.Ready).TotalSeconds, 3), Math.Round((offset + step.CaughtUp).TotalSeconds, 3)));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {step.Node}: SIGTERM at {offset.TotalSeconds:F2} s, exited {(offset + step.Stopped).TotalSeconds:F2} s, serving {(offset + step.Ready).TotalSeconds:F2} s, caught up {(offset + step.CaughtUp).TotalSeconds:F2} s"));
            offset += step.CaughtUp;
        }
        var sent = Interlocked.Read(ref sentRecords);
        using var reader = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
        var stored = (long)(await reader.AggregateAsync(new Protocol.V1.QueryFilter(), ct).ConfigureAwait(false)).Records;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"records sent and acknowledged {sent}, stored {stored}: {(sent == stored ? "exactly once" : "MISMATCH")}"));
        var since = restartStart.TotalSeconds;
        return new Json.RollingBenchReport(topology, Partitions, batchRecords, batchesPerSecond, steps.Count, steps.Count(s => s.Graceful),
            Math.Round((restartEnd - restartStart).TotalSeconds, 3), Math.Round(worst.Item1, 1), gaps.Count == 0 ? 0 : Math.Round(worst.Item2 - since, 3), Math.Round(p99, 1),
            sorted.Count, TargetLongestGapMs, client.Stats.Retries, client.Stats.Failovers,
            gaps.OrderByDescending(g => g.Ms).Take(5).Select(g => new Json.RollingGapReport(Math.Round(g.Ms, 1), Math.Round(g.At - since, 3))).ToList(),
            stepReports, sent, stored, sent == stored);
    }
}
