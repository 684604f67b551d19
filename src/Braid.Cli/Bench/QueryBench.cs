using System.Diagnostics;
using System.Globalization;
using Braid.Client;
using Braid.Data;
using Braid.Protocol.V1;

namespace Braid.Cli.Bench;

/// <summary>
/// Query throughput on a loaded cluster (the full data set ingested as in <see cref="IngestBench"/>):
/// filtered full scans (records scanned per second: the sum of the chunks' Scanned over wall time),
/// a match-all query streaming every record to the client, and the aggregate by parameter; with the
/// peak RSS of every node while the queries run.
/// </summary>
internal static class QueryBench
{
    public sealed record Settings(string Topology, uint ChunkRecords, long? Records, int Seed, string Directory, int BasePort, int Repeat = 5);

    /// <summary>One query's figures: the median elapsed time of its runs, and the fastest and slowest.</summary>
    private sealed record Run(string Name, long Scanned, long Returned, TimeSpan Elapsed, TimeSpan Fastest, TimeSpan Slowest)
    {
        public Run(string name, long scanned, long returned, TimeSpan elapsed) : this(name, scanned, returned, elapsed, elapsed, elapsed)
        {
        }

        public static Run Median(IReadOnlyList<Run> runs)
        {
            var sorted = runs.OrderBy(r => r.Elapsed).ToList();
            return sorted[sorted.Count / 2] with { Fastest = sorted[0].Elapsed, Slowest = sorted[^1].Elapsed };
        }
    }

    private const double TargetScannedPerSecond = 1_000_000;
    private const double TargetRssMb = 300;
    private const int Partitions = 12;

    /// <summary>Starts and loads a cluster, runs the queries, prints a table and returns the figures.</summary>
    public static async Task<Json.QueryBenchReport> RunAsync(Settings s, TextWriter output, CancellationToken ct)
    {
        output.WriteLine($"query on {s.Topology}: {Partitions} partitions, R=3, chunks of {(s.ChunkRecords == 0 ? "the server's default" : s.ChunkRecords.ToString(CultureInfo.InvariantCulture))} records");
        var (batches, bytes) = BenchLoad.Encode(s.Seed, s.Records, 1000);
        await using var cluster = await BenchCluster.StartAsync(s.Topology, s.Directory, s.BasePort, TextWriter.Null, ct, partitions: Partitions).ConfigureAwait(false);
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        await BenchLoad.WaitForLeadersAsync(seeds, cluster.Tls, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        var load = await BenchLoad.IngestAsync(seeds, batches, bytes, new BraidClientOptions { Seeds = seeds }.InflightBatchesPerPartition, cluster.Tls, TextWriter.Null, ct).ConfigureAwait(false);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loaded {load.Records} records in {load.Elapsed.TotalSeconds:F1} s"));
        var total = batches.Sum(b => (long)b.Records);
        batches.Clear();
        var runs = new List<Run>();
        IReadOnlyDictionary<string, long> peaks;
        IReadOnlyDictionary<string, double> cpu;
        bool ok;
        using var client = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
        await using (var sampler = new RssSampler(cluster.State.Nodes))
        {
            var filtered = new QueryFilter { From = "2020-09-01", To = "2020-09-08", AqiMin = 100, AqiMax = 500, Parameters = { "PM2.5" } };
            runs.Add(await QueryAsync(client, "filtered, first run (JIT warm-up included)", filtered, s.ChunkRecords, ct).ConfigureAwait(false));
            async Task<Run> Repeated(Func<Task<Run>> query)
            {
                var each = new List<Run>();
                for (var i = 0; i < s.Repeat; i++) each.Add(await query().ConfigureAwait(false));
                return Run.Median(each);
            }
            runs.Add(await Repeated(() => QueryAsync(client, "filtered: PM2.5, AQI 100..500, 2020-09-01..07", filtered, s.ChunkRecords, ct)).ConfigureAwait(false));
            runs.Add(await Repeated(() => QueryAsync(client, "match nothing: site \"no such site\"", new QueryFilter { Site = "no such site" }, s.ChunkRecords, ct)).ConfigureAwait(false));
            runs.Add(await Repeated(() => QueryAsync(client, "match nothing: AQI 600..700", new QueryFilter { AqiMin = 600, AqiMax = 700 }, s.ChunkRecords, ct)).ConfigureAwait(false));
            ok = true;
            runs.Add(await Repeated(async () =>
            {
                var all = await QueryAsync(client, "match all, every record to the client", new QueryFilter(), s.ChunkRecords, ct).ConfigureAwait(false);
                ok &= all.Returned == total;
                return all;
            }).ConfigureAwait(false));
            runs.Add(await Repeated(async () =>
            {
                var clock = Stopwatch.StartNew();
                var aggregate = await client.AggregateAsync(new QueryFilter(), ct).ConfigureAwait(false);
                ok &= (long)aggregate.Records == total;
                return new Run("aggregate by parameter and day", (long)aggregate.Records, aggregate.ByParameter.Count, clock.Elapsed);
            }).ConfigureAwait(false));
            peaks = sampler.PeakBytes;
            cpu = sampler.CpuSeconds();
        }
        output.WriteLine($"each query after the first: median of {s.Repeat} runs (scanned/s of the fastest and slowest run in brackets)");
        output.WriteLine($"{"query",-48} {"scanned",9} {"returned",9} {"s",7} {"scanned/s",11} {"returned/s",11}  {"range scanned/s",23}");
        foreach (var r in runs)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Name,-48} {r.Scanned,9} {r.Returned,9} {r.Elapsed.TotalSeconds,7:F2} {r.Scanned / r.Elapsed.TotalSeconds,11:F0} {r.Returned / r.Elapsed.TotalSeconds,11:F0}  [{r.Scanned / r.Slowest.TotalSeconds,10:F0} {r.Scanned / r.Fastest.TotalSeconds,10:F0}]"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(target: >= {TargetScannedPerSecond:N0} records scanned/s for a filtered full scan)"));
        var rssMax = BenchLoad.PrintPeakRss(peaks, cpu, output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worst node peak rss under query load {rssMax:F1} MB (target < {TargetRssMb:F0} MB)"));
        output.WriteLine($"match-all and aggregate counts equal the {total} records loaded: {(ok ? "ok" : "MISMATCH")}");
        var queries = runs.Select(r => new Json.QueryRunReport(r.Name, r.Scanned, r.Returned, Math.Round(r.Elapsed.TotalSeconds, 4),
            Math.Round(r.Scanned / r.Elapsed.TotalSeconds, 1), Math.Round(r.Returned / r.Elapsed.TotalSeconds, 1),
            Math.Round(r.Fastest.TotalSeconds, 4), Math.Round(r.Slowest.TotalSeconds, 4))).ToList();
        var nodes = peaks.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new Json.NodeResourceReport(kv.Key, Math.Round(kv.Value / 1048576.0, 1), cpu.TryGetValue(kv.Key, out var c) ? Math.Round(c, 2) : null)).ToList();
        return new Json.QueryBenchReport(s.Topology, Partitions, s.ChunkRecords, s.Repeat, load.Records, Math.Round(load.Elapsed.TotalSeconds, 3), queries, nodes,
            Math.Round(rssMax, 1), TargetScannedPerSecond, TargetRssMb, ok);
    }

    private static async Task<Run> QueryAsync(BraidClient client, string name, QueryFilter filter, uint chunkRecords, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        long scanned = 0, returned = 0;
        await foreach (var page in client.QueryPagesAsync(filter, null, chunkRecords, ct).ConfigureAwait(false))
        {
            scanned += page.Scanned;
            returned += page.Records.Count;
        }
        return new Run(name, scanned, returned, clock.Elapsed);
    }
}
