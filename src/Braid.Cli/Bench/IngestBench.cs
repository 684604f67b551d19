using System.Globalization;
using Braid.Data;

namespace Braid.Cli.Bench;

/// <summary>
/// Ingest throughput: the full generated data set, pre-encoded in memory, streamed into a
/// 12-partition R=3 cluster through the client library, each batch acknowledged after a
/// majority fsync; then the per-parameter counts are checked against the generator's.
/// With <see cref="Settings.CompareRounds"/> the same load runs on a fresh mutual-TLS cluster and
/// a fresh plaintext one, alternately, in one invocation, and the ratio of the medians is printed
/// (these machines are noisy: only figures from one run are compared).
/// </summary>
internal static class IngestBench
{
    public sealed record Settings(string Topology, int BatchRecords, int InflightPerPartition, long? Records, int Seed, string Directory, int BasePort, Hosts.HostMode Hosts = Hosts.HostMode.Loopback, bool Insecure = false,
        int WarmupBatches = 0, int CompareRounds = 0, int Passes = 1);

    public static async Task<Json.IngestBenchReport> RunAsync(Settings s, TextWriter output, CancellationToken ct)
    {
        var (batches, bytes) = BenchLoad.Encode(s.Seed, s.Records, s.BatchRecords);
        var dataRecords = batches.Sum(b => (long)b.Records);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"data set: {dataRecords} records in {batches.Count} batches, {bytes / 1048576.0:F1} MB encoded (in memory)"));
        var runs = new List<Json.IngestRunReport>();
        Json.IngestComparisonReport? comparison = null;
        if (s.CompareRounds <= 0)
            runs.Add(await OnceAsync(s, batches, bytes, s.Insecure, output, ct).ConfigureAwait(false));
        else
            comparison = await CompareAsync(s, batches, bytes, runs, output, ct).ConfigureAwait(false);
        return new Json.IngestBenchReport(s.Topology, Hosts.NetworkLayout.ModeName(s.Hosts), s.BatchRecords, s.InflightPerPartition, s.Passes, s.WarmupBatches,
            dataRecords, batches.Count, bytes, TargetRecordsPerSecond(s.Topology), runs, comparison, runs.All(r => r.CountsOk));
    }

    private static int TargetRecordsPerSecond(string topology) => topology.Contains("mini2", StringComparison.OrdinalIgnoreCase) ? 180_000 : 300_000;

    private static async Task<Json.IngestComparisonReport> CompareAsync(Settings s, List<(byte[] Payload, int Records)> batches, long bytes, List<Json.IngestRunReport> runs, TextWriter output, CancellationToken ct)
    {
        var tls = new List<double>();
        var plain = new List<double>();
        for (var round = 1; round <= s.CompareRounds; round++)
        {
            // Alternate which goes first, so a machine that slows down (or warms up) over the run
            // does not favour one side.
            foreach (var insecure in round % 2 == 1 ? new[] { false, true } : new[] { true, false })
            {
                output.WriteLine($"-- round {round}/{s.CompareRounds}, {(insecure ? "plaintext" : "mutual TLS")}");
                var run = await OnceAsync(s, batches, bytes, insecure, output, ct).ConfigureAwait(false);
                runs.Add(run);
                (insecure ? plain : tls).Add(run.RecordsPerSecond);
            }
        }
        var tlsMedian = Braid.Bench.Nats.CompareReport.Median(tls);
        var plainMedian = Braid.Bench.Nats.CompareReport.Median(plain);
        var ratio = tlsMedian / Math.Max(1e-9, plainMedian);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mutual TLS records/s: {string.Join(" ", tls.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))} (median {tlsMedian:F0})"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"plaintext  records/s: {string.Join(" ", plain.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))} (median {plainMedian:F0})"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"TLS / plaintext (medians): {ratio:F2}x (target >= 0.85x)"));
        return new Json.IngestComparisonReport(s.CompareRounds, tls, plain, tlsMedian, plainMedian, Math.Round(ratio, 3));
    }

    private static async Task<Json.IngestRunReport> OnceAsync(Settings s, List<(byte[] Payload, int Records)> batches, long bytes, bool insecure, TextWriter output, CancellationToken ct)
    {
        output.WriteLine($"ingest on {s.Topology} ({Hosts.NetworkLayout.ModeName(s.Hosts)} hosts): 12 partitions, R=3, batches of {s.BatchRecords} records, window {s.InflightPerPartition} batches per partition, {(s.Passes > 1 ? $"{s.Passes} passes over the data set, " : "")}{(insecure ? "plaintext (--insecure)" : "mutual TLS")}");
        await using var cluster = await BenchCluster.StartAsync(s.Topology, s.Directory, s.BasePort, TextWriter.Null, ct, partitions: 12, hosts: s.Hosts, insecure: insecure).ConfigureAwait(false);
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        await BenchLoad.WaitForLeadersAsync(seeds, cluster.Tls, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        IngestFigures figures;
        IReadOnlyDictionary<string, long> peaks;
        IReadOnlyDictionary<string, double> cpu;
        await using (var sampler = new RssSampler(cluster.State.Nodes))
        {
            figures = await BenchLoad.IngestAsync(seeds, batches, bytes, s.InflightPerPartition, cluster.Tls, output, ct, s.WarmupBatches, s.Passes).ConfigureAwait(false);
            peaks = sampler.PeakBytes;
            cpu = sampler.CpuSeconds();
        }
        var target = TargetRecordsPerSecond(s.Topology);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ingested {figures.Records} records{(s.WarmupBatches > 0 ? $" (after {s.WarmupBatches} warm-up batches, not timed)" : "")} in {figures.Elapsed.TotalSeconds:F2} s: {figures.RecordsPerSecond:F0} records/s, {figures.MegabytesPerSecond:F1} MB/s; retries {figures.Retries}, duplicates {figures.Duplicates}, failovers {figures.Failovers} (target >= {target} records/s)"));
        var rssMax = BenchLoad.PrintPeakRss(peaks, cpu, output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst node peak rss {rssMax:F1} MB (target < 300 MB)"));
        var ok = await BenchLoad.VerifyCountsAsync(seeds, cluster.Tls, AirQualityGenerator.ExpectedCounts(s.Records).ToDictionary(kv => kv.Key, kv => kv.Value * Math.Max(1, s.Passes)), output, ct).ConfigureAwait(false);
        output.WriteLine($"counts: {(ok ? "ok" : "mismatch")}");
        var nodes = peaks.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new Json.NodeResourceReport(kv.Key, Math.Round(kv.Value / 1048576.0, 1), cpu.TryGetValue(kv.Key, out var c) ? Math.Round(c, 2) : null)).ToList();
        return new Json.IngestRunReport(!insecure, figures.Records, figures.Batches, figures.PayloadBytes, Math.Round(figures.Elapsed.TotalSeconds, 3),
            Math.Round(figures.RecordsPerSecond, 1), Math.Round(figures.MegabytesPerSecond, 2), figures.Retries, figures.Duplicates, figures.Failovers,
            nodes, Math.Round(rssMax, 1), ok);
    }
}
