using System.Diagnostics;
using System.Globalization;
using Braid.Client;
using Braid.Data;

namespace Braid.Cli.Load;

/// <summary>What a load did.</summary>
/// <param name="PausedByStuckPartitions">How long reading the input waited for room in the client's
/// buffer while some partition was stuck (a split outlasting --max-buffer-mb), to 100 ms.</param>
internal sealed record LoadResult(long Records, long Batches, long SkippedBatches, long Retries, long Duplicates, long Failovers,
    TimeSpan Elapsed, TimeSpan LongestStall, TimeSpan PausedByStuckPartitions)
{
    public double RecordsPerSecond => Records / Math.Max(1e-9, Elapsed.TotalSeconds);
}

/// <summary>
/// Streams records into the cluster in fixed-size batches through an <see cref="IngestSession"/>,
/// saving a checkpoint as acknowledgements arrive and reporting progress. The session keeps every
/// partition it can reach flowing while others are stuck, up to its byte budget
/// (<paramref name="maxBufferedBytes"/>, the client's default if null); the progress lines name the
/// stuck partitions and say when a full buffer pauses the reading.
/// </summary>
internal sealed class Loader(BraidClient client, LoadCheckpoint checkpoint, string? checkpointPath, TextWriter progress, long? maxBufferedBytes = null)
{
    /// <summary>A partition holding batches without an acknowledgement for this long is reported as stuck.</summary>
    internal static readonly TimeSpan StuckAfter = TimeSpan.FromSeconds(3);

    public async Task<LoadResult> RunAsync(IEnumerable<AirQualityRecord> records, CancellationToken ct)
    {
        await using var session = new IngestSession(client, checkpoint.Producer, checkpoint.AckedBatches, ct, maxBufferedBytes: maxBufferedBytes);
        var clock = Stopwatch.StartNew();
        var buffer = new List<AirQualityRecord>(checkpoint.BatchRecords);
        long batch = 0, sent = 0, recordsSent = 0;
        using var reporter = StartReporter(session, clock, () => Interlocked.Read(ref recordsSent), ct, out var stall, out var paused);
        foreach (var record in records)
        {
            buffer.Add(record);
            if (buffer.Count < checkpoint.BatchRecords) continue;
            sent += await SendAsync(session, batch++, buffer, ct).ConfigureAwait(false);
            Interlocked.Add(ref recordsSent, buffer.Count);
            buffer.Clear();
        }
        if (buffer.Count > 0)
        {
            sent += await SendAsync(session, batch++, buffer, ct).ConfigureAwait(false);
            Interlocked.Add(ref recordsSent, buffer.Count);
        }
        await session.CompleteAsync(ct).ConfigureAwait(false);
        Save(session);
        var stats = client.Stats;
        return new LoadResult(stats.AckedRecords, batch, batch - sent, stats.Retries, stats.Duplicates, stats.Failovers, clock.Elapsed, stall(), paused());
    }

    /// <summary>Sends one batch unless the checkpoint says it is already stored; returns 1 if sent.</summary>
    private async Task<long> SendAsync(IngestSession session, long batch, List<AirQualityRecord> records, CancellationToken ct)
    {
        if (batch < checkpoint.AckedBatches) return 0;
        var payload = RecordBatchCodec.Encode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(records));
        await session.SendAsync(batch, payload, records.Count, ct).ConfigureAwait(false); // waits only while the buffer is full
        return 1;
    }

    private readonly object saveGate = new();
    private long savedBatches = -1;

    /// <summary>Saves the checkpoint. The reporter's timer and the end of the load both save:
    /// one at a time (they share the temporary file), and never a smaller count after a larger one.</summary>
    private void Save(IngestSession session)
    {
        if (checkpointPath is null) return;
        lock (saveGate)
        {
            var acked = session.ContiguousAckedBatches;
            if (acked <= savedBatches) return;
            (checkpoint with { AckedBatches = acked }).Save(checkpointPath);
            savedBatches = acked;
        }
    }

    /// <summary>Prints progress (with the stuck partitions, if any) and saves the checkpoint every
    /// second; tracks, to 100 ms, the longest time without an acknowledgement while batches were
    /// outstanding and the time the reading was paused by a full buffer with a partition stuck.</summary>
    private Timer StartReporter(IngestSession session, Stopwatch clock, Func<long> sentRecords, CancellationToken ct,
        out Func<TimeSpan> longestStall, out Func<TimeSpan> pausedByStuck)
    {
        long lastAcked = 0;
        var lastProgressAt = TimeSpan.Zero;
        var longest = TimeSpan.Zero;
        var paused = TimeSpan.Zero;
        var lastTickAt = TimeSpan.Zero;
        var gate = new object();
        longestStall = () => { lock (gate) return longest; };
        pausedByStuck = () => { lock (gate) return paused; };
        var tick = 0;
        return new Timer(_ =>
        {
            if (ct.IsCancellationRequested) return;
            var stats = client.Stats;
            lock (gate)
            {
                var now = clock.Elapsed;
                if (stats.AckedRecords != lastAcked) lastProgressAt = now;
                else if (sentRecords() > stats.AckedRecords) longest = TimeSpan.FromTicks(Math.Max(longest.Ticks, (now - lastProgressAt).Ticks));
                lastAcked = stats.AckedRecords;
                if (session.WaitingForRoom && Stuck(session).Count > 0) paused += now - lastTickAt;
                lastTickAt = now;
            }
            if (Interlocked.Increment(ref tick) % 10 != 0) return; // stalls are measured every 100 ms, progress printed every second
            try { Save(session); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // retried next second; the final save reports it
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"load: {clock.Elapsed.TotalSeconds,6:F1} s  acked {stats.AckedRecords,9}  {stats.AckedRecords / Math.Max(0.001, clock.Elapsed.TotalSeconds),9:F0} records/s  retries {stats.Retries}  failovers {stats.Failovers}  buffered {Mib(session.BufferedBytes):F1} of {Mib(session.MaxBufferedBytes):F0} MiB"));
            if (StuckReport(session) is { } stuck) progress.WriteLine(stuck);
        }, null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
    }

    private static double Mib(long bytes) => bytes / 1048576.0;

    private static List<IngestPartitionStatus> Stuck(IngestSession session) =>
        session.PartitionStatus().Where(p => p.WaitingFor > StuckAfter).ToList();

    /// <summary>One line naming the partitions stuck for over <see cref="StuckAfter"/> (how long,
    /// what they hold) and whether the full buffer pauses the reading; null when none is stuck.
    /// (A full buffer alone is normal: the input is read faster than the cluster stores it.)</summary>
    internal static string? StuckReport(IngestSession session)
    {
        var stuck = Stuck(session);
        if (stuck.Count == 0) return null;
        var partitions = string.Join(", ", stuck.Select(p => string.Create(CultureInfo.InvariantCulture,
            $"{p.Partition} ({p.WaitingFor.TotalSeconds:F0} s, {p.Batches} batches, {Mib(p.Bytes):F1} MiB{(p.LastProblem is null ? "" : "; " + p.LastProblem)})")));
        return $"load:   no acknowledgement for over {StuckAfter.TotalSeconds:F0} s on partition{(stuck.Count == 1 ? "" : "s")} {partitions}; " +
            (session.WaitingForRoom ? "buffer full: reading paused until they recover (--max-buffer-mb)" : "the others are not held up");
    }
}
