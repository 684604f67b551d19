using System.Diagnostics;
using Braid.Client;
using Braid.Data;
using Braid.Lab;
using Braid.Lab.Report;
using Braid.Protocol.V1;

namespace Braid.Cli.Lab;

/// <summary>How hard the lab's clients work.</summary>
/// <param name="Producers">Concurrent exactly-once producers (each its own client and producer id).</param>
/// <param name="BatchRecords">Records per batch.</param>
/// <param name="BatchesPerSecond">Each producer's offered rate (it sends slower when the cluster pushes back).</param>
/// <param name="Queries">Concurrent query workers.</param>
/// <param name="ProducerRestartSeconds">Mean time between a producer's simulated crashes (0: never).</param>
internal sealed record WorkloadSettings(int Producers, int BatchRecords, double BatchesPerSecond, int Queries, double ProducerRestartSeconds);

/// <summary>
/// The lab's clients: producers that ingest exactly-once through <see cref="IngestSession"/> and
/// now and then crash (their session is dropped with batches in flight) and resume from their
/// checkpoint, and query workers that page through filtered snapshots and resume each from its
/// cursor with a new client at another node. Every operation goes into the history.
/// </summary>
internal sealed class LabWorkload(IReadOnlyList<string> addresses, WorkloadSettings settings, int seed, Stopwatch clock, Braid.Client.Security.ClientTls? tls)
{
    private readonly object gate = new();
    private readonly List<AppendOp> appends = [];
    private readonly List<QueryOp> queries = [];
    private readonly List<AckSample> acks = [];
    private readonly Dictionary<ulong, string> producerNodes = [];
    private long producerRestarts, queryFailures, queryResumes, queryAttempts;
    private int partitions;

    public long Now => clock.ElapsedTicks * 1_000_000 / Stopwatch.Frequency; // microseconds, the history's clock

    public int Partitions => partitions;

    /// <summary>The nodes producers send through first (fault targets for "the client's node").</summary>
    public IReadOnlyList<string> ClientNodes
    {
        get { lock (gate) return producerNodes.Values.Distinct().ToList(); }
    }

    public long AckedRecords
    {
        get { lock (gate) return acks.Sum(a => (long)a.Records); }
    }

    public (List<AppendOp> Appends, List<QueryOp> Queries, List<AckSample> Acks) Snapshot()
    {
        lock (gate) return (appends.ToList(), queries.ToList(), acks.ToList());
    }

    public IReadOnlyList<KeyValuePair<string, string>> Counts()
    {
        lock (gate)
        {
            return
            [
                new("appends invoked", appends.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("appends acknowledged", appends.Count(a => a.Result == AppendResult.Ok).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("appends unknown (no answer: producer crashed or gave up)", appends.Count(a => a.Result == AppendResult.Unknown).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("records acknowledged", acks.Sum(a => (long)a.Records).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("producer crashes and resumes", producerRestarts.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("queries completed and checked", queries.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("queries started", queryAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("query resumes from a cursor at another node", queryResumes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("queries that gave up (no progress within the client's stall timeout)", queryFailures.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ];
        }
    }

    /// <summary>Runs until <paramref name="stop"/>; then lets producers finish what they sent (up to <paramref name="drain"/>).</summary>
    public async Task RunAsync(TimeSpan drain, CancellationToken stop, CancellationToken abort)
    {
        using (var probe = await ConnectAsync(0, abort).ConfigureAwait(false)) partitions = probe.Partitions;
        var tasks = Enumerable.Range(1, settings.Producers).Select(p => Task.Run(() => ProduceAsync((ulong)p, drain, stop, abort), abort))
            .Concat(Enumerable.Range(0, settings.Queries).Select(q => Task.Run(() => QueryLoopAsync(q, stop, abort), abort)))
            .ToList();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private Task<BraidClient> ConnectAsync(int first, CancellationToken ct, int jitter = 1) =>
        BraidClient.ConnectAsync(new BraidClientOptions
        {
            Seeds = addresses.Skip(first % addresses.Count).Concat(addresses.Take(first % addresses.Count)).ToList(),
            JitterSeed = jitter,
            StallTimeout = TimeSpan.FromSeconds(120),
            Tls = tls,
        }, ct);

    private async Task ProduceAsync(ulong producer, TimeSpan drain, CancellationToken stop, CancellationToken abort)
    {
        var random = new Random(seed * 31 + (int)producer);
        long checkpoint = 0;
        var next = 0L;
        var period = TimeSpan.FromSeconds(1 / Math.Max(0.001, settings.BatchesPerSecond));
        while (!stop.IsCancellationRequested)
        {
            var first = (int)producer - 1 + random.Next(addresses.Count);
            using var client = await RetryConnectAsync(first, (int)producer, abort).ConfigureAwait(false);
            if (client is null) return;
            lock (gate) producerNodes[producer] = addresses[first % addresses.Count];
            var inflight = new Dictionary<long, (long InvokedAt, ulong Hash, int Records)>();
            using var crash = CancellationTokenSource.CreateLinkedTokenSource(abort);
            var lifetime = settings.ProducerRestartSeconds > 0 ? TimeSpan.FromSeconds(settings.ProducerRestartSeconds * (0.5 + random.NextDouble())) : TimeSpan.MaxValue;
            var bornAt = clock.Elapsed;
            var session = new IngestSession(client, producer, checkpoint, crash.Token, batch => Acked(producer, batch, inflight));
            next = checkpoint;
            var crashed = false;
            try
            {
                var due = clock.Elapsed;
                while (!stop.IsCancellationRequested)
                {
                    if (clock.Elapsed - bornAt > lifetime) { crashed = true; break; }
                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait, stop).ConfigureAwait(false);
                    due += period;
                    if (due < clock.Elapsed - TimeSpan.FromSeconds(1)) due = clock.Elapsed; // do not burst after a stall
                    var records = LabRecords.Batch(producer, next, settings.BatchRecords);
                    var payload = RecordBatchCodec.Encode(records);
                    lock (gate) inflight[next] = (Now, LabRecords.ContentHash(payload), records.Length);
                    await session.SendAsync(next, payload, records.Length, stop).ConfigureAwait(false);
                    next++;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !abort.IsCancellationRequested) { }
            if (!crashed)
            {
                try { await session.CompleteAsync(CancellationTokenSource.CreateLinkedTokenSource(abort, new CancellationTokenSource(drain).Token).Token).ConfigureAwait(false); }
                catch (Exception e) when (e is OperationCanceledException or BraidException or Grpc.Core.RpcException) { }
            }
            checkpoint = session.ContiguousAckedBatches;
            await crash.CancelAsync().ConfigureAwait(false);
            await session.DisposeAsync().ConfigureAwait(false);
            lock (gate)
            {
                // Whatever was not acknowledged has no answer: stored at most once, maybe not at all.
                foreach (var (batch, op) in inflight)
                {
                    var (partition, sequence) = IngestSession.KeyOf(batch, partitions);
                    appends.Add(new AppendOp(partition, producer, sequence, op.Hash, op.InvokedAt, Now, AppendResult.Unknown));
                }
                inflight.Clear();
                if (crashed) producerRestarts++;
            }
            if (!crashed) return;
        }
    }

    private void Acked(ulong producer, long batch, Dictionary<long, (long InvokedAt, ulong Hash, int Records)> inflight)
    {
        lock (gate)
        {
            if (!inflight.Remove(batch, out var op)) return; // acknowledged again after a resend
            var (partition, sequence) = IngestSession.KeyOf(batch, partitions);
            var now = Now;
            appends.Add(new AppendOp(partition, producer, sequence, op.Hash, op.InvokedAt, now, AppendResult.Ok));
            acks.Add(new AckSample(now / 1e6, (now - op.InvokedAt) / 1e3, op.Records, (int)partition));
        }
    }

    private async Task<BraidClient?> RetryConnectAsync(int first, int jitter, CancellationToken abort)
    {
        for (var attempt = 0; !abort.IsCancellationRequested; attempt++)
        {
            try { return await ConnectAsync(first + attempt, abort, jitter).ConfigureAwait(false); }
            catch (BraidException) { await Task.Delay(200, abort).ConfigureAwait(false); }
        }
        return null;
    }

    private async Task QueryLoopAsync(int worker, CancellationToken stop, CancellationToken abort)
    {
        var random = new Random(seed * 97 + worker);
        var id = worker * 1_000_000;
        while (!stop.IsCancellationRequested)
        {
            try { await Task.Delay(TimeSpan.FromMilliseconds(500 + random.Next(1500)), stop).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            var parameter = (AirParameter)random.Next(6);
            var filter = new QueryFilter();
            filter.Parameters.Add(parameter.Name());
            lock (gate) queryAttempts++;
            try
            {
                var op = await RunQueryAsync(id++, filter, parameter, random, abort).ConfigureAwait(false);
                if (op is not null) lock (gate) queries.Add(op);
            }
            catch (BraidException)
            {
                lock (gate) queryFailures++;
            }
        }
    }

    /// <summary>One query, resumed from its cursor at another node after some pages.</summary>
    private async Task<QueryOp?> RunQueryAsync(int id, QueryFilter filter, AirParameter parameter, Random random, CancellationToken abort)
    {
        var invokedAt = Now;
        var returned = new Dictionary<uint, List<ulong>>();
        List<QuerySnapshot>? snapshot = null;
        byte[]? cursor = null;
        var resumes = 0;
        var done = false;
        while (!done)
        {
            using var client = await RetryConnectAsync(random.Next(addresses.Count), random.Next(), abort).ConfigureAwait(false);
            if (client is null) return null;
            await foreach (var page in client.QueryPagesAsync(filter, cursor, 200, abort).ConfigureAwait(false))
            {
                foreach (var record in page.Records)
                {
                    var identity = LabRecords.IdentityOf(record);
                    var partition = identity == LabRecords.Garbled ? uint.MaxValue : IngestSession.KeyOf((long)((identity >> 16) & ((1UL << 40) - 1)), client.Partitions).Partition;
                    if (!returned.TryGetValue(partition, out var list)) returned[partition] = list = [];
                    list.Add(identity);
                }
                cursor = page.Cursor;
                snapshot ??= SnapshotOf(page.Cursor);
                if (page.Done) { done = true; break; }
                if (random.NextDouble() < 0.3) { resumes++; break; } // resume from the cursor with another client, at another node
            }
            if (snapshot is null) return null; // the first page carried no cursor: nothing to check
        }
        lock (gate) queryResumes += resumes;
        return new QueryOp(id, invokedAt, Now, snapshot!, returned.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<ulong>)kv.Value),
            identity => LabRecords.ParameterOf(identity) == parameter, resumes);
    }

    private static List<QuerySnapshot>? SnapshotOf(byte[] cursor)
    {
        if (cursor.Length == 0) return null;
        var parsed = QueryCursor.Parser.ParseFrom(cursor);
        return parsed.Positions.Select(p => new QuerySnapshot(p.Partition, 0, p.SnapshotIndex)).ToList();
    }
}
