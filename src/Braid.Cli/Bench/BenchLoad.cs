using Braid.Client.Security;
using System.Diagnostics;
using System.Globalization;
using Braid.Cli.Cluster;
using Braid.Client;
using Braid.Data;
using Braid.Protocol.V1;

namespace Braid.Cli.Bench;

/// <summary>What one in-memory ingest of a data set measured.</summary>
internal sealed record IngestFigures(long Records, long Batches, long PayloadBytes, TimeSpan Elapsed, long Retries, long Duplicates, long Failovers)
{
    public double RecordsPerSecond => Records / Math.Max(1e-9, Elapsed.TotalSeconds);
    public double MegabytesPerSecond => PayloadBytes / 1048576.0 / Math.Max(1e-9, Elapsed.TotalSeconds);
}

/// <summary>
/// Shared by the ingest and query benchmarks: the generated data set pre-encoded into batches in
/// memory (so the clock measures the cluster, not the generator or the codec), its ingest through
/// <see cref="IngestSession"/> (acknowledged after a majority fsync), and the count check.
/// </summary>
internal static class BenchLoad
{
    /// <summary>Generates the data set with <paramref name="seed"/> and encodes it into batches of <paramref name="batchRecords"/>.</summary>
    public static (List<(byte[] Payload, int Records)> Batches, long PayloadBytes) Encode(int seed, long? records, int batchRecords)
    {
        var batches = new List<(byte[], int)>();
        var buffer = new List<AirQualityRecord>(batchRecords);
        long bytes = 0;
        void Flush()
        {
            var payload = RecordBatchCodec.Encode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer));
            batches.Add((payload, buffer.Count));
            bytes += payload.Length;
            buffer.Clear();
        }
        foreach (var file in AirQualityGenerator.Generate(seed, records))
            foreach (var record in file.Records)
            {
                buffer.Add(record);
                if (buffer.Count == batchRecords) Flush();
            }
        if (buffer.Count > 0) Flush();
        return (batches, bytes);
    }

    /// <summary>
    /// Waits until every partition has a leader (the start-up elections are not part of the
    /// measurement), then, for at most <see cref="BalanceTimeout"/> (a cluster that does not
    /// settle is measured as it is), until every partition is led by its preferred leader, the
    /// first of its replicas. The start-up elections leave leaders where the first candidate won,
    /// and the nodes hand each partition to its preferred leader within a few seconds (a check
    /// every 2 s): a benchmark started before that measured those hand-offs as retries in the
    /// middle of its load.
    /// </summary>
    public static async Task WaitForLeadersAsync(IReadOnlyList<string> seeds, ClientTls? tls, TimeSpan timeout, CancellationToken ct)
    {
        using var nodes = new NodeClients(tls);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // A node knows the leaders of the partitions it holds a replica of: ask every node.
            var replies = await DescribeEachAsync(nodes, seeds, ct).ConfigureAwait(false);
            var led = replies.SelectMany(r => r.Partitions.Where(p => p.Leader.Length > 0).Select(p => p.Partition)).ToHashSet();
            if (replies.Count > 0 && led.Count == replies[0].Partitions.Count) break;
            if (clock.Elapsed > timeout) throw new CliException($"not every partition had a leader after {timeout.TotalSeconds:F0} s");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
        var settling = Stopwatch.StartNew();
        while (settling.Elapsed < BalanceTimeout)
        {
            // Each node's own view of the groups it leads: each must be one it is preferred for.
            var replies = await DescribeEachAsync(nodes, seeds, ct).ConfigureAwait(false);
            if (replies.Count == seeds.Count && replies.All(r => r.Partitions.Where(p => p.LocalRole == "Leader").All(p => p.Replicas.Count > 0 && p.Replicas[0] == r.NodeId)))
                return;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>How long a benchmark waits for leadership to settle on the preferred leaders.</summary>
    private static readonly TimeSpan BalanceTimeout = TimeSpan.FromSeconds(8);

    /// <summary>The description of every node of <paramref name="seeds"/> that answers within 2 s.</summary>
    private static async Task<List<DescribeReply>> DescribeEachAsync(NodeClients nodes, IReadOnlyList<string> seeds, CancellationToken ct)
    {
        var replies = new List<DescribeReply>();
        foreach (var seed in seeds)
        {
            try
            {
                replies.Add(await new Protocol.V1.Stream.StreamClient(nodes.Channel(seed))
                    .DescribeAsync(new DescribeRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: ct).ResponseAsync.ConfigureAwait(false));
            }
            catch (Grpc.Core.RpcException) when (!ct.IsCancellationRequested)
            {
            }
        }
        return replies;
    }

    /// <summary>Sends every batch through one ingest session and waits for every acknowledgement.</summary>
    /// <param name="warmupBatches">The first batches are sent and acknowledged before the clock
    /// starts (JIT and connection warm-up of freshly started processes); the figures cover the rest.</param>
    /// <param name="passes">Times the whole data set is sent (one producer, sequence numbers
    /// continuing): a longer run measures the steady state rather than the processes' warm-up.</param>
    public static async Task<IngestFigures> IngestAsync(IReadOnlyList<string> seeds, List<(byte[] Payload, int Records)> batches, long payloadBytes,
        int inflightPerPartition, ClientTls? tls, TextWriter progress, CancellationToken ct, int warmupBatches = 0, int passes = 1)
    {
        passes = Math.Max(1, passes);
        var total = batches.Count * passes;
        warmupBatches = Math.Clamp(warmupBatches, 0, total - 1);
        long warmRecords = 0;
        long warmBytes = 0;
        for (var b = 0; b < warmupBatches; b++) warmBytes += batches[b % batches.Count].Payload.Length;
        using var client = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, InflightBatchesPerPartition = inflightPerPartition, Tls = tls }, ct).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        using var reporter = new Timer(_ => progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {clock.Elapsed.TotalSeconds,6:F1} s  acked {client.Stats.AckedRecords,9}  retries {client.Stats.Retries}")), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        await using (var session = new IngestSession(client, producer: 1, ct: ct))
        {
            for (var b = 0; b < total; b++)
            {
                if (b == warmupBatches && b > 0)
                {
                    while (client.Stats.AckedBatches < warmupBatches) await Task.Delay(5, ct).ConfigureAwait(false);
                    warmRecords = client.Stats.AckedRecords;
                    clock.Restart();
                }
                var batch = batches[b % batches.Count];
                await session.SendAsync(b, batch.Payload, batch.Records, ct).ConfigureAwait(false);
            }
            await session.CompleteAsync(ct).ConfigureAwait(false);
        }
        var elapsed = clock.Elapsed;
        var stats = client.Stats;
        return new IngestFigures(stats.AckedRecords - warmRecords, total - warmupBatches, payloadBytes * passes - warmBytes, elapsed, stats.Retries, stats.Duplicates, stats.Failovers);
    }

    /// <summary>Compares the cluster's per-parameter counts with <paramref name="expected"/>; prints each and returns whether all match.</summary>
    public static async Task<bool> VerifyCountsAsync(IReadOnlyList<string> seeds, ClientTls? tls, IReadOnlyDictionary<AirParameter, long> expected, TextWriter output, CancellationToken ct)
    {
        using var client = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = tls }, ct).ConfigureAwait(false);
        var reply = await client.AggregateAsync(new QueryFilter(), ct).ConfigureAwait(false);
        var ok = true;
        foreach (var (parameter, count) in expected.OrderBy(kv => kv.Key))
        {
            var name = parameter.Name();
            var actual = (long)(reply.ByParameter.FirstOrDefault(r => r.Key == name)?.Count ?? 0);
            ok &= actual == count;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-6} expected {count,9}  stored {actual,9}  {(actual == count ? "ok" : "MISMATCH")}"));
        }
        var total = expected.Values.Sum();
        ok &= (long)reply.Records == total;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  total  expected {total,9}  stored {reply.Records,9}  {(ok ? "ok" : "MISMATCH")}"));
        return ok;
    }

    /// <summary>Prints each node's peak RSS and returns the largest, in MB.</summary>
    public static double PrintPeakRss(IReadOnlyDictionary<string, long> peaks, IReadOnlyDictionary<string, double>? cpuSeconds, TextWriter output)
    {
        var max = 0.0;
        foreach (var (node, bytes) in peaks.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var mb = bytes / 1048576.0;
            max = Math.Max(max, mb);
            var cpu = cpuSeconds is null ? "" : string.Create(CultureInfo.InvariantCulture, $"  cpu {cpuSeconds[node],6:F1} s");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  node {node,-3} peak rss {mb,7:F1} MB{cpu}"));
        }
        return max;
    }
}
