using System.Globalization;
using Braid.Data;

namespace Braid.Cli.Bench;

/// <summary>
/// Ingest throughput: the full generated data set, pre-encoded in memory, streamed into a
/// 12-partition R=3 cluster through the client library, each batch acknowledged after a
/// majority fsync; then the per-parameter counts are checked against the generator's.
/// </summary>
internal static class IngestBench
{
    public sealed record Settings(string Topology, int BatchRecords, int InflightPerPartition, long? Records, int Seed, string Directory, int BasePort, Hosts.HostMode Hosts = Hosts.HostMode.Loopback, bool Insecure = false,
        int WarmupBatches = 0);

    public static async Task<int> RunAsync(Settings s, TextWriter output, CancellationToken ct)
    {
        output.WriteLine($"ingest on {s.Topology} ({Hosts.NetworkLayout.ModeName(s.Hosts)} hosts): 12 partitions, R=3, batches of {s.BatchRecords} records, window {s.InflightPerPartition} batches per partition, {(s.Insecure ? "plaintext (--insecure)" : "mutual TLS")}");
        var (batches, bytes) = BenchLoad.Encode(s.Seed, s.Records, s.BatchRecords);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"data set: {batches.Sum(b => (long)b.Records)} records in {batches.Count} batches, {bytes / 1048576.0:F1} MB encoded (in memory)"));
        await using var cluster = await BenchCluster.StartAsync(s.Topology, s.Directory, s.BasePort, TextWriter.Null, ct, partitions: 12, hosts: s.Hosts, insecure: s.Insecure).ConfigureAwait(false);
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        await BenchLoad.WaitForLeadersAsync(seeds, cluster.Tls, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        IngestFigures figures;
        IReadOnlyDictionary<string, long> peaks;
        IReadOnlyDictionary<string, double> cpu;
        await using (var sampler = new RssSampler(cluster.State.Nodes))
        {
            figures = await BenchLoad.IngestAsync(seeds, batches, bytes, s.InflightPerPartition, cluster.Tls, output, ct, s.WarmupBatches).ConfigureAwait(false);
            peaks = sampler.PeakBytes;
            cpu = sampler.CpuSeconds();
        }
        var target = s.Topology.Contains("mini2", StringComparison.OrdinalIgnoreCase) ? 180_000 : 300_000;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ingested {figures.Records} records{(s.WarmupBatches > 0 ? $" (after {s.WarmupBatches} warm-up batches, not timed)" : "")} in {figures.Elapsed.TotalSeconds:F2} s: {figures.RecordsPerSecond:F0} records/s, {figures.MegabytesPerSecond:F1} MB/s; retries {figures.Retries}, duplicates {figures.Duplicates}, failovers {figures.Failovers} (target >= {target} records/s)"));
        var rssMax = BenchLoad.PrintPeakRss(peaks, cpu, output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst node peak rss {rssMax:F1} MB (target < 300 MB)"));
        var ok = await BenchLoad.VerifyCountsAsync(seeds, cluster.Tls, AirQualityGenerator.ExpectedCounts(s.Records), output, ct).ConfigureAwait(false);
        output.WriteLine($"counts: {(ok ? "ok" : "mismatch")}");
        return ok ? 0 : 1;
    }
}
