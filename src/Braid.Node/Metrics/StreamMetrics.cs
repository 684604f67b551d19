using System.Diagnostics.Metrics;
using Braid.Protocol.V1;

namespace Braid.Node.Metrics;

/// <summary>The "Braid.Stream" meter: ingest and query as clients see them at this (entry) node,
/// and the pages of queries this node's replicas served.</summary>
internal sealed class StreamMetrics
{
    private readonly Counter<long> recordsAppended;
    private readonly Counter<long> batchesAppended;
    private readonly Counter<long> batchesDuplicate;
    private readonly Counter<long> batchesRefused;
    private readonly Counter<long> queries;
    private readonly Counter<long> queryChunks;
    private readonly Counter<long> scanPages;

    public StreamMetrics(IMeterFactory factory, NodeMeters meters, NodeSamples samples)
    {
        var meter = meters.Create(factory, BraidMeters.Stream);
        recordsAppended = meter.CreateCounter<long>("braid.stream.records.appended", "{record}",
            "Records in batches acknowledged to clients through this node (stored once; duplicates excluded)");
        batchesAppended = meter.CreateCounter<long>("braid.stream.batches.appended", "{batch}",
            "Batches acknowledged to clients through this node as stored");
        batchesDuplicate = meter.CreateCounter<long>("braid.stream.batches.duplicate", "{batch}",
            "Batches acknowledged as duplicates: already stored, dropped by exactly-once dedup");
        batchesRefused = meter.CreateCounter<long>("braid.stream.batches.refused", "{batch}",
            "Batches answered without storing them, by status (not_leader, retry, out_of_order, no_space, invalid)");
        queries = meter.CreateCounter<long>("braid.stream.queries", "{query}", "Queries and aggregates started or resumed at this node");
        queryChunks = meter.CreateCounter<long>("braid.stream.query.chunks", "{chunk}", "Query result chunks sent to clients");
        scanPages = meter.CreateCounter<long>("braid.stream.scan.pages", "{page}",
            "Pages of query scans served by this node's replicas (for any coordinator)");
        meter.CreateObservableGauge("braid.stream.partition.batches",
            () => samples.Partitions.Running.Select(p => new Measurement<long>(p.Batches, BraidMeters.Partition(p.Partition))),
            "{batch}", "Client batches the replica has stored (applied; each (producer, sequence) once)");
    }

    /// <summary>Counts one answer to a client's batch of <paramref name="records"/> records.</summary>
    public void Answered(AppendReply reply, int records)
    {
        if (reply.Status == AppendStatus.AppendOk)
        {
            if (reply.Duplicate)
            {
                batchesDuplicate.Add(1);
                return;
            }
            batchesAppended.Add(1);
            recordsAppended.Add(records);
            return;
        }
        Refused(reply.Status switch
        {
            AppendStatus.NotLeader => "not_leader",
            AppendStatus.OutOfOrder => "out_of_order",
            AppendStatus.NoSpace => "no_space",
            _ => "retry",
        });
    }

    /// <summary>A batch refused before it reached a partition (malformed, or for no partition).</summary>
    public void Refused(string status) => batchesRefused.Add(1, new KeyValuePair<string, object?>("status", status));

    public void QueryStarted() => queries.Add(1);

    public void ChunkSent() => queryChunks.Add(1);

    public void PageServed() => scanPages.Add(1);
}
