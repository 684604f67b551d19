using System.Diagnostics;
using System.Globalization;
using Braid.Client;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Cli.Bench;

/// <summary>
/// Issue 13's figures on mesh3 at R=3: records produced one at a time through
/// <see cref="BraidClient.ProduceAsync"/> (records/s and the ack latency of each call), and a
/// subscription's delivery latency at a steady produce rate.
/// </summary>
internal static class StreamBench
{
    public static async Task<Json.ProduceBenchReport> ProduceAsync(int records, int valueBytes, int inflight, string directory, int basePort, TextWriter output, CancellationToken ct)
    {
        await using var cluster = await BenchCluster.StartAsync("mesh3", directory, basePort, TextWriter.Null, ct).ConfigureAwait(false);
        using var braid = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = [.. cluster.State.Nodes.Select(n => n.Address)], Tls = cluster.Tls }, ct).ConfigureAwait(false);
        await braid.CreateStreamAsync("bench", "raw", 3, 3, 0, ct).ConfigureAwait(false);
        var value = new byte[valueBytes];
        new Random(1).NextBytes(value);
        // Warm-up: connections, leaders, JIT.
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => braid.ProduceAsync("bench", BitConverter.GetBytes(i), value, null, ct))).ConfigureAwait(false);
        var latencies = new double[records];
        using var window = new SemaphoreSlim(inflight);
        var clock = Stopwatch.StartNew();
        var calls = new List<Task>(records);
        for (var i = 0; i < records; i++)
        {
            await window.WaitAsync(ct).ConfigureAwait(false);
            var n = i;
            calls.Add(Task.Run(async () =>
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await braid.ProduceAsync("bench", BitConverter.GetBytes(n), value, null, ct).ConfigureAwait(false);
                }
                finally
                {
                    latencies[n] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    window.Release();
                }
            }, ct));
        }
        await Task.WhenAll(calls).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        var report = new Json.ProduceBenchReport(records, valueBytes, inflight, Math.Round(seconds, 2), Math.Round(records / seconds),
            Quantile(latencies, 0.5), Quantile(latencies, 0.99));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"produce, mesh3 R=3, {records} records of {valueBytes} bytes, one ProduceAsync call each, {inflight} calls in flight: {report.RecordsPerSecond:F0} records/s; ack latency p50 {report.AckP50Ms:F1} ms, p99 {report.AckP99Ms:F1} ms (acknowledged once fsynced on a majority)"));
        return report;
    }

    /// <summary>The q-quantile of sorted samples in ms, rounded; -1 when there are none.</summary>
    private static double Quantile(IReadOnlyList<double> sorted, double q) => sorted.Count == 0 ? -1 : Math.Round(RerouteBench.Percentile(sorted, q), 2);

    public static async Task<Json.SubscribeBenchReport> SubscribeAsync(int rate, int seconds, string directory, int basePort, TextWriter output, CancellationToken ct)
    {
        await using var cluster = await BenchCluster.StartAsync("mesh3", directory, basePort, TextWriter.Null, ct).ConfigureAwait(false);
        var seeds = cluster.State.Nodes.Select(n => n.Address).ToList();
        using var braid = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
        using var reader = await BraidClient.ConnectAsync(new BraidClientOptions { Seeds = seeds, Tls = cluster.Tls }, ct).ConfigureAwait(false);
        const int partitions = 3;
        await braid.CreateStreamAsync("follow", "raw", partitions, 3, 0, ct).ConfigureAwait(false);
        // Batches of `perBatch` records every 10 ms make the rate; a batch's id is in each value.
        var perBatch = Math.Max(1, rate / 100);
        var batches = seconds * 100;
        var acked = new long[batches];
        var delivered = new long[batches];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var seen = 0L;
        var subscriber = Task.Run(async () =>
        {
            try
            {
                await foreach (var chunk in reader.SubscribeAsync("follow", SubscribeRequest.Types.Start.Beginning, null, 0, stop.Token).ConfigureAwait(false))
                {
                    var now = Stopwatch.GetTimestamp();
                    foreach (var r in chunk.RawRecords)
                    {
                        var batch = BitConverter.ToInt32(r.Value.Span);
                        if (batch >= 0 && batch < batches && delivered[batch] == 0) delivered[batch] = now;
                        seen++;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        await Task.Delay(1000, ct).ConfigureAwait(false); // the subscription is up and polling
        var sequences = new ulong[partitions];
        var clock = Stopwatch.StartNew();
        var sends = new List<Task>();
        for (var b = 0; b < batches; b++)
        {
            var due = TimeSpan.FromMilliseconds(b * 10);
            if (clock.Elapsed < due) await Task.Delay(due - clock.Elapsed, ct).ConfigureAwait(false);
            var partition = (uint)(b % partitions);
            var records = Enumerable.Range(0, perBatch).Select(_ => { var v = new byte[150]; BitConverter.TryWriteBytes(v, b); return new RawRecord { Value = ByteString.CopyFrom(v) }; }).ToList();
            var id = b;
            var sequence = ++sequences[partition];
            sends.Add(Task.Run(async () =>
            {
                await braid.AppendRawAsync("follow", partition, 1, sequence, records, ct).ConfigureAwait(false);
                acked[id] = Stopwatch.GetTimestamp();
            }, ct));
            // Batches of one partition must reach the leader in order: one at a time per partition.
            if (sends.Count >= partitions)
            {
                await sends[0].ConfigureAwait(false);
                sends.RemoveAt(0);
            }
        }
        await Task.WhenAll(sends).ConfigureAwait(false);
        var achieved = batches * perBatch / clock.Elapsed.TotalSeconds;
        var deadline = Stopwatch.StartNew();
        while (Interlocked.Read(ref seen) < (long)batches * perBatch && deadline.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50, ct).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await subscriber.ConfigureAwait(false);
        var latencies = Enumerable.Range(0, batches).Where(b => delivered[b] > 0 && acked[b] > 0)
            .Select(b => (delivered[b] - acked[b]) * 1000.0 / Stopwatch.Frequency).Order().ToList();
        var missing = Enumerable.Range(0, batches).Count(b => delivered[b] == 0);
        var report = new Json.SubscribeBenchReport(rate, Math.Round(achieved), seconds, latencies.Count, missing,
            Quantile(latencies, 0.5), Quantile(latencies, 0.99), Math.Round(latencies.Count(l => l < 0) * 100.0 / Math.Max(1, latencies.Count), 1));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"subscribe, mesh3 R=3, 3 partitions, {report.TargetRecordsPerSecond} records/s asked ({report.AchievedRecordsPerSecond:F0} achieved) for {seconds} s: delivery after the producer's ack p50 {report.DeliveryP50Ms:F1} ms, p99 {report.DeliveryP99Ms:F1} ms over {latencies.Count} batches ({report.DeliveredBeforeAckPercent:F1}% reached the subscriber before the ack reached the producer), {missing} batches never delivered"));
        return report;
    }
}
