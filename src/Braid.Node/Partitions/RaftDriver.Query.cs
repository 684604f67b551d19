using Braid.Core.Data;
using Braid.Core.Raft;
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

    public Task<NodeResponse> HandleAsync(NodeRequest request, CancellationToken ct) => request.KindCase switch
    {
        NodeRequest.KindOneofCase.CommitIndex => AskAsync(() => CommitIndex(request.CommitIndex), ct),
        NodeRequest.KindOneofCase.Scan => ScanAsync(request.Scan, ct),
        NodeRequest.KindOneofCase.Append => AppendForwardedAsync(request.Append, ct),
        _ => Task.FromResult(new NodeResponse { Error = $"unknown request {request.KindCase}" }),
    };

    private NodeResponse CommitIndex(CommitIndexRequest request)
    {
        if (!replicas.TryGetValue(request.Partition, out var r)) return new NodeResponse { Error = $"{options.NodeId} holds no replica of partition {request.Partition}" };
        var s = r.Raft.Status;
        return new NodeResponse
        {
            CommitIndex = new CommitIndexResponse { IsLeader = r.Raft.LeaderWithCurrentCommit, Term = s.Term, CommitIndex = s.CommitIndex, Leader = s.Leader ?? "", AppliedIndex = r.State.AppliedIndex, RetainedAfter = r.State.RetainedAfter },
        };
    }

    private async Task<NodeResponse> ScanAsync(ScanRequest request, CancellationToken ct)
    {
        if (!QueryFilters.TryConvert(request.Filter, out var filter, out var error)) return new NodeResponse { Error = error };
        return await AskAsync(() => Scan(request, filter), ct).ConfigureAwait(false);
    }

    private NodeResponse Scan(ScanRequest request, RecordFilter filter)
    {
        var position = request.Position;
        if (!replicas.TryGetValue(position.Partition, out var r)) return new NodeResponse { Error = $"{options.NodeId} holds no replica of partition {position.Partition}" };
        if (r.State.AppliedIndex < position.SnapshotIndex) return new NodeResponse { Scan = new ScanResponse { Behind = true } };
        // A position at or below this replica's retention point would silently miss records of
        // the query's snapshot: say so (a new query starts after the leader's retention point).
        if (position.NextIndex <= r.State.RetainedAfter)
            return new NodeResponse { Scan = new ScanResponse { Trimmed = true, RetainedAfter = r.State.RetainedAfter } };
        if (request.Aggregate) return new NodeResponse { Scan = AggregateScan(r, position, filter) };
        var take = (int)Math.Clamp(request.MaxRecords == 0 ? 2000 : request.MaxRecords, 1, 20_000);
        var matches = new List<AirQualityRecord>(Math.Min(take, 4096));
        var indexes = r.State.RecordIndexes;
        var at = indexes.BinarySearch(position.NextIndex);
        if (at < 0) at = ~at;
        var next = position.Clone();
        long scanned = 0;
        while (true)
        {
            if (at >= indexes.Count || indexes[at] > position.SnapshotIndex)
            {
                next.NextIndex = position.SnapshotIndex + 1;
                next.Skip = 0;
                break;
            }
            var index = indexes[at];
            // Skip counts records of the entry's batch already passed (matching or not).
            var start = index == next.NextIndex ? (int)next.Skip : 0;
            var batch = RecordEntry.Decode(RaftNode.DataOf(r.ReadLog(index, index, long.MaxValue)[0])).Payload;
            var result = RecordBatchCodec.Scan(batch.Span, filter, start, take - matches.Count, matches);
            scanned += result.NextRecord - start;
            if (!result.Completed)
            {
                next.NextIndex = index;
                next.Skip = (uint)result.NextRecord;
                break;
            }
            at++;
            // Past the last record: every record up to the snapshot is known here (this replica
            // has applied it), so the partition is done, whatever retention does next.
            next.NextIndex = at < indexes.Count ? indexes[at] : position.SnapshotIndex + 1;
            next.Skip = 0;
            if (matches.Count >= take || scanned >= ScanRecordsBudget) break;
        }
        var response = new ScanResponse
        {
            Records = ByteString.CopyFrom(RecordBatchCodec.Encode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(matches))),
            RecordCount = (uint)matches.Count,
            Next = next,
            Done = next.NextIndex > next.SnapshotIndex,
            Scanned = (ulong)scanned,
        };
        return new NodeResponse { Scan = response };
    }
}

internal sealed partial class RaftDriver
{
    /// <summary>Aggregates the matching records of whole entries up to the snapshot (within the
    /// scan budget) where they are stored, so only a few rows per day and parameter travel.</summary>
    private static ScanResponse AggregateScan(PartitionReplica r, PartitionPosition position, RecordFilter filter)
    {
        var aggregate = new AirQualityAggregate();
        var indexes = r.State.RecordIndexes;
        var at = indexes.BinarySearch(position.NextIndex);
        if (at < 0) at = ~at;
        long scanned = 0;
        var next = position.Clone();
        next.Skip = 0;
        while (at < indexes.Count && indexes[at] <= position.SnapshotIndex && scanned < ScanRecordsBudget)
        {
            var batch = RecordEntry.Decode(RaftNode.DataOf(r.ReadLog(indexes[at], indexes[at], long.MaxValue)[0])).Payload;
            RecordBatchCodec.Aggregate(batch.Span, filter, aggregate);
            scanned += RecordBatchCodec.Count(batch.Span);
            at++;
        }
        next.NextIndex = at < indexes.Count && indexes[at] <= position.SnapshotIndex ? indexes[at] : position.SnapshotIndex + 1;
        var response = new ScanResponse { Next = next, Done = next.NextIndex > next.SnapshotIndex, Scanned = (ulong)scanned };
        foreach (var row in aggregate.Rows)
        {
            response.Aggregates.Add(new AggregatePartial
            {
                DayNumber = row.Day.DayNumber, Parameter = (uint)row.Parameter, Count = row.Count, AqiCount = row.AqiCount, AqiSum = row.AqiSum, AqiMin = row.AqiMin, AqiMax = row.AqiMax,
            });
        }
        return response;
    }
}

/// <summary>Turns a client's filter into the core's, with the core's validation messages.</summary>
internal static class QueryFilters
{
    public static bool TryConvert(QueryFilter? filter, out RecordFilter result, out string error)
    {
        filter ??= new QueryFilter();
        var aqi = filter.HasAqiMin || filter.HasAqiMax
            ? $"{(filter.HasAqiMin ? filter.AqiMin.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}..{(filter.HasAqiMax ? filter.AqiMax.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}"
            : null;
        var bbox = filter.Bbox is { } b
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{b.MinLatitude},{b.MinLongitude},{b.MaxLatitude},{b.MaxLongitude}")
            : null;
        var parameters = filter.Parameters.Count == 0 ? null : string.Join(",", filter.Parameters);
        if (RecordFilterParser.TryParse(NullIfEmpty(filter.From), NullIfEmpty(filter.To), parameters, aqi, bbox, NullIfEmpty(filter.Site), out result, out var problem))
        {
            error = "";
            return true;
        }
        error = "invalid filter: " + problem;
        return false;
    }

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}
