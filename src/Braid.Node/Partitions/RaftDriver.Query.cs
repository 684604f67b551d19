using Braid.Core;
using Braid.Data;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Node.Partitions;

/// <summary>
/// The replica side of queries: the commit index (to fix a snapshot) and filtered scans of the
/// stored records up to a snapshot, pushed down to where the data is. Scans run on the partition
/// loop (the log is single-owner) with a budget per request, so a long scan never starves Raft.
/// </summary>
internal sealed partial class RaftDriver
{
    private const long ScanRecordsBudget = 200_000;

    /// <summary>The partition's commit index and leadership as this replica sees it (to fix a query snapshot).</summary>
    public async Task<NodeResponse> CommitIndexAsync(CommitIndexRequest request, CancellationToken ct)
    {
        if (request.WaitMs == 0) return await AskAsync(() => CommitIndex(request), ct).ConfigureAwait(false);
        var answer = await AskAsync(() =>
        {
            if (!replicas.TryGetValue(request.Partition, out var r) || r.Raft.Role != Core.Raft.RaftRole.Leader || r.Raft.Status.CommitIndex > request.WaitBeyond)
                return Task.FromResult(CommitIndex(request));
            var parked = new TaskCompletionSource<NodeResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
            var deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(Math.Min(request.WaitMs, 5000) / 1000.0 * System.Diagnostics.Stopwatch.Frequency);
            commitWaiters.Add((request, deadline, parked));
            return parked.Task;
        }, ct).ConfigureAwait(false);
        return await answer.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Long polls of subscriptions, parked until their partition commits past their index (loop only).</summary>
    private readonly List<(CommitIndexRequest Request, long DeadlineTimestamp, TaskCompletionSource<NodeResponse> Answer)> commitWaiters = [];

    /// <summary>Answers the parked long polls whose partition moved on, stopped leading, or whose time is up.</summary>
    private void AnswerCommitWaiters()
    {
        if (commitWaiters.Count == 0) return;
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        commitWaiters.RemoveAll(w =>
        {
            if (replicas.TryGetValue(w.Request.Partition, out var r) && r.Raft.Role == Core.Raft.RaftRole.Leader
                && r.Raft.Status.CommitIndex <= w.Request.WaitBeyond && now < w.DeadlineTimestamp) return false;
            w.Answer.TrySetResult(CommitIndex(w.Request));
            return true;
        });
    }

    private NodeResponse CommitIndex(CommitIndexRequest request)
    {
        if (!replicas.TryGetValue(request.Partition, out var r)) return new NodeResponse { Error = $"{options.NodeId} holds no replica of partition {request.Partition}" };
        var isLeader = r.Raft.ServeRead();
        var s = r.Raft.Status;
        var answer = new CommitIndexResponse { IsLeader = isLeader, Term = s.Term, CommitIndex = s.CommitIndex, Leader = s.Leader ?? "", AppliedIndex = r.State.AppliedIndex, RetainedAfter = r.State.RetainedAfter };
        if (request.Consumer.Length > 0 && r.State.Consumers.TryGetValue(request.Consumer, out var position))
        {
            answer.HasConsumer = true;
            answer.ConsumerNextIndex = position.NextIndex;
            answer.ConsumerSkip = position.Skip;
        }
        return new NodeResponse { CommitIndex = answer };
    }

    /// <summary>One page of a filtered scan (or aggregate) of this node's replica of a partition.</summary>
    public async Task<NodeResponse> ScanAsync(ScanRequest request, CancellationToken ct)
    {
        if (request.Format == (uint)StreamFormat.Raw)
        {
            var at = request.Position ?? new PartitionPosition();
            var rawPosition = new ScanPosition(at.Partition, at.SnapshotIndex, at.NextIndex, at.Skip);
            if (!rawPosition.IsValid) return new NodeResponse { Error = $"malformed scan position {rawPosition}" };
            return await AskAsync(() => ScanRaw(rawPosition, request.Aggregate, request.MaxRecords), ct).ConfigureAwait(false);
        }
        if (request.Format is not (0 or (uint)StreamFormat.AirQuality)) return new NodeResponse { Error = $"unknown stream format {request.Format}" };
        // The filter is checked and made typed once, here at the edge; the scan runs on the typed one.
        QueryFilter wire;
        try
        {
            wire = QueryFilter.Parser.ParseFrom(request.Filter);
        }
        catch (InvalidProtocolBufferException e)
        {
            return new NodeResponse { Error = $"invalid filter: not a query filter ({e.Message})" };
        }
        if (!QueryFilters.TryConvert(wire, out var filter, out var error)) return new NodeResponse { Error = error };
        var p = request.Position ?? new PartitionPosition();
        var position = new ScanPosition(p.Partition, p.SnapshotIndex, p.NextIndex, p.Skip);
        if (!position.IsValid) return new NodeResponse { Error = $"malformed scan position {position}" };
        return await AskAsync(() => Scan(position, filter, request.Aggregate, request.MaxRecords), ct).ConfigureAwait(false);
    }

    private NodeResponse Scan(ScanPosition position, RecordFilter filter, bool aggregate, uint maxRecords)
    {
        if (!replicas.TryGetValue(position.Partition, out var r)) return new NodeResponse { Error = $"{options.NodeId} holds no replica of partition {position.Partition}" };
        if (aggregate)
        {
            var aggregator = new AggregateScanner(filter);
            var page = r.Scan(position, aggregator, int.MaxValue, ScanRecordsBudget);
            var response = Page(page);
            foreach (var row in aggregator.Aggregate.Rows)
            {
                response.Aggregates.Add(new AggregatePartial
                {
                    DayNumber = row.Day.DayNumber, Parameter = (uint)row.Parameter, Count = row.Count, AqiCount = row.AqiCount, AqiSum = row.AqiSum, AqiMin = row.AqiMin, AqiMax = row.AqiMax,
                });
            }
            return new NodeResponse { Scan = response };
        }
        var take = (int)Math.Clamp(maxRecords == 0 ? 2000 : maxRecords, 1, 20_000);
        var scanner = new RecordScanner(filter, Math.Min(take, 4096));
        var result = r.Scan(position, scanner, take, ScanRecordsBudget);
        var reply = Page(result);
        if (result.Status == ScanStatus.Page)
        {
            reply.Records = ByteString.CopyFrom(RecordBatchCodec.Encode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(scanner.Matches)));
            reply.RecordCount = (uint)scanner.Matches.Count;
        }
        return new NodeResponse { Scan = reply };
    }

    /// <summary>A page of a raw stream: its records in order (no filter), with their positions, or only their count.</summary>
    private NodeResponse ScanRaw(ScanPosition position, bool count, uint maxRecords)
    {
        if (!replicas.TryGetValue(position.Partition, out var r)) return new NodeResponse { Error = $"{options.NodeId} holds no replica of group {StreamGroups.Describe(position.Partition)}" };
        if (streams.StreamOf(position.Partition)?.Format != StreamFormat.Raw) return new NodeResponse { Error = $"group {StreamGroups.Describe(position.Partition)} is not part of a raw stream" };
        if (count)
        {
            var counter = new RawCountScanner();
            var counted = Page(r.Scan(position, counter, int.MaxValue, ScanRecordsBudget));
            counted.Aggregates.Add(new AggregatePartial { Count = counter.Count });
            return new NodeResponse { Scan = counted };
        }
        var take = (int)Math.Clamp(maxRecords == 0 ? 1000 : maxRecords, 1, 20_000);
        var scanner = new RawScanner(RawPageBytesMax);
        var result = r.Scan(position, scanner, take, ScanRecordsBudget);
        var reply = Page(result);
        if (result.Status == ScanStatus.Page && scanner.Matches.Count > 0)
        {
            reply.Records = ByteString.CopyFrom(RawBatchCodec.Encode(scanner.Matches));
            reply.RecordCount = (uint)scanner.Matches.Count;
            reply.RecordIndexes.AddRange(scanner.Indexes);
            reply.RecordOrdinals.AddRange(scanner.Ordinals);
        }
        return new NodeResponse { Scan = reply };
    }

    /// <summary>Payload bytes a raw page carries at most (one record larger than that travels alone).</summary>
    internal const int RawPageBytesMax = 4 << 20;

    private static ScanResponse Page(ScanPage page) => new()
    {
        Behind = page.Status == ScanStatus.Behind,
        Trimmed = page.Status == ScanStatus.Trimmed,
        RetainedAfter = page.RetainedAfter,
        Next = new PartitionPosition { Partition = page.Next.Partition, SnapshotIndex = page.Next.SnapshotIndex, NextIndex = page.Next.NextIndex, Skip = page.Next.Skip },
        Done = page.Next.Done,
        Scanned = (ulong)page.Scanned,
    };
}

/// <summary>Air-quality batches scanned for the records matching a filter.</summary>
internal sealed class RecordScanner(RecordFilter filter, int capacity) : IBatchScanner
{
    public List<AirQualityRecord> Matches { get; } = new(capacity);

    public BatchScan Scan(ReadOnlySpan<byte> batch, int skip, int matchesMax)
    {
        var before = Matches.Count;
        var result = RecordBatchCodec.Scan(batch, filter, skip, matchesMax, Matches);
        return new BatchScan(result.NextRecord, result.Completed, Matches.Count - before);
    }
}

/// <summary>Air-quality batches aggregated (per day and parameter) where they are stored, so
/// only a few rows travel.</summary>
internal sealed class AggregateScanner(RecordFilter filter) : IBatchScanner
{
    public AirQualityAggregate Aggregate { get; } = new();

    public BatchScan Scan(ReadOnlySpan<byte> batch, int skip, int matchesMax)
    {
        Invariant.Check(skip == 0, "aggregates are taken over whole batches");
        RecordBatchCodec.Aggregate(batch, filter, Aggregate);
        return new BatchScan(RecordBatchCodec.Count(batch), true, 0);
    }
}

/// <summary>Turns a client's filter into the core's typed one, with the data set's validation messages.</summary>
internal static class QueryFilters
{
    public static bool TryConvert(QueryFilter? filter, out RecordFilter result, out string error)
    {
        filter ??= new QueryFilter();
        var box = filter.Bbox is { } b ? (b.MinLatitude, b.MinLongitude, b.MaxLatitude, b.MaxLongitude) : ((double, double, double, double)?)null;
        if (RecordFilterParser.TryCreate(filter.From, filter.To, filter.Parameters, filter.HasAqiMin ? filter.AqiMin : null, filter.HasAqiMax ? filter.AqiMax : null,
                box, filter.Site, out result, out var problem))
        {
            error = "";
            return true;
        }
        error = "invalid filter: " + problem;
        return false;
    }
}

/// <summary>Raw batches read in order, stopping at a byte budget, keeping each record's position.</summary>
internal sealed class RawScanner(long bytesMax) : IBatchScanner
{
    private ulong index;
    private long bytes;

    public List<Protocol.V1.RawRecord> Matches { get; } = [];
    public List<ulong> Indexes { get; } = [];
    public List<uint> Ordinals { get; } = [];

    public void AtIndex(ulong index) => this.index = index;

    public BatchScan Scan(ReadOnlySpan<byte> batch, int skip, int matchesMax)
    {
        var before = Matches.Count;
        // A page ends at the byte budget; the scan's page limit is in records, so pass at most what fits.
        if (bytes >= bytesMax) return new BatchScan(skip, false, 0);
        var result = RawBatchCodec.Decode(batch, skip, matchesMax, Matches);
        var next = skip;
        for (var i = before; i < Matches.Count; i++)
        {
            bytes += Matches[i].Value.Length + Matches[i].Key.Length + 16;
            Indexes.Add(index);
            Ordinals.Add((uint)(skip + i - before));
            next = skip + i - before + 1;
            if (bytes >= bytesMax) break;
        }
        if (Matches.Count - before > next - skip)
        {
            // Over the budget inside this batch: hand back the records past it.
            Matches.RemoveRange(before + (next - skip), Matches.Count - before - (next - skip));
            return new BatchScan(next, false, next - skip);
        }
        return new BatchScan(result.NextRecord, result.Completed, Matches.Count - before);
    }
}

/// <summary>Counts the records of raw batches (a raw stream's aggregate is its count).</summary>
internal sealed class RawCountScanner : IBatchScanner
{
    public long Count { get; private set; }

    public BatchScan Scan(ReadOnlySpan<byte> batch, int skip, int matchesMax)
    {
        Invariant.Check(skip == 0, "counts are taken over whole batches");
        var n = RawBatchCodec.Count(batch);
        Count += n;
        return new BatchScan(n, true, 0);
    }
}
