using Braid.Core.Streams;
using Braid.Node.Partitions;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>Queries and aggregates over a stream's snapshot.</summary>
internal sealed partial class StreamService
{
    private QueryCoordinator Coordinator(StreamDefinition stream) => new(overlay, stream, options.NodeId, clock);

    public override async Task Query(QueryRequest request, IServerStreamWriter<QueryChunk> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var stream = await ResolveAsync(request.Stream, ct).ConfigureAwait(false);
        var filter = CheckFilter(request.Filter, stream);
        metrics.QueryStarted();
        if (request.ChunkRecords > ChunkRecordsMax) throw new RpcException(new Status(StatusCode.InvalidArgument, $"chunk_records may be at most {ChunkRecordsMax}"));
        foreach (var p in request.Partitions)
            if (p >= stream.PartitionCount)
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"partition {p} of stream '{stream.Name}' does not exist (it has {stream.PartitionCount})"));
        var coordinator = Coordinator(stream);
        // A resumed degraded read fixes the snapshots of the partitions it could not start before.
        var cursor = request.Cursor.IsEmpty
            ? await coordinator.StartAsync(filter, ct, request.Partitions, request.AllowPartial).ConfigureAwait(false)
            : await coordinator.FixPendingAsync(QueryCursors.Parse(request.Cursor, filter, stream, allowPending: true), request.AllowPartial, ct).ConfigureAwait(false);
        var chunk = request.ChunkRecords == 0 ? ChunkRecordsDefault : request.ChunkRecords;
        var sentDone = false;
        var missing = request.AllowPartial ? new SortedSet<uint>() : null;
        ulong scanned = 0; // records scanned by pages with no match, reported with the next chunk sent
        await foreach (var (page, after) in coordinator.RunAsync(filter, cursor, chunk, ct, missing: missing).ConfigureAwait(false))
        {
            cursor = after;
            var done = after.Done;
            scanned += page.Scanned;
            if (page.RecordCount == 0 && !done) continue;
            var reply = new QueryChunk { Cursor = ByteString.CopyFrom(after.Encode()), Done = done, Scanned = scanned };
            (reply.Records, reply.RecordCount) = Fill(stream, request.Typed, page, reply.RawRecords, reply.Positions, reply.Readings);
            await responseStream.WriteAsync(reply, ct).ConfigureAwait(false);
            metrics.ChunkSent();
            scanned = 0;
            sentDone = done;
        }
        if (!sentDone)
        {
            // The last chunk: done, or (a degraded read) the trailer naming the partitions left out,
            // with the cursor that keeps them where they were.
            var last = new QueryChunk { Cursor = ByteString.CopyFrom(cursor.Encode()), Done = cursor.Done, Scanned = scanned };
            if (!cursor.Done) last.MissingPartitions.AddRange(cursor.Unfinished);
            if (stream.Format != StreamFormat.Raw && !request.Typed) last.Records = ByteString.CopyFrom(Data.RecordBatchCodec.Encode([]));
            await responseStream.WriteAsync(last, ct).ConfigureAwait(false);
            metrics.ChunkSent();
        }
    }

    /// <summary>
    /// Puts a page's records into a chunk (of a query or a subscription) in the form asked for:
    /// raw records with their positions, typed readings, or the record batch as it came from the
    /// replica; returns the chunk's <c>records</c> bytes and <c>record_count</c>.
    /// </summary>
    private static (ByteString Records, uint Count) Fill(StreamDefinition stream, bool typed, ScanResponse page,
        Google.Protobuf.Collections.RepeatedField<RawRecord> raw, Google.Protobuf.Collections.RepeatedField<RecordPosition> positions,
        Google.Protobuf.Collections.RepeatedField<AirQualityReading> readings)
    {
        if (stream.Format == StreamFormat.Raw)
        {
            AddRaw(raw, positions, page);
            return (ByteString.Empty, 0);
        }
        if (!typed) return (page.Records, page.RecordCount);
        AddReadings(readings, page.Records);
        return (ByteString.Empty, page.RecordCount);
    }

    /// <summary>A raw page: the replica's batch of matches decoded into messages, each with its position in the stream.</summary>
    private static void AddRaw(Google.Protobuf.Collections.RepeatedField<RawRecord> records, Google.Protobuf.Collections.RepeatedField<RecordPosition> positions, ScanResponse page)
    {
        if (page.RecordCount == 0) return;
        var decoded = Data.RawBatchCodec.Decode(page.Records.Span);
        if (decoded.Length != page.RecordIndexes.Count || decoded.Length != page.RecordOrdinals.Count)
            throw new RpcException(new Status(StatusCode.Internal, $"a replica answered {decoded.Length} records with {page.RecordIndexes.Count} positions"));
        records.AddRange(decoded);
        for (var i = 0; i < decoded.Length; i++)
            positions.Add(new RecordPosition { Partition = page.Next.Partition, Index = page.RecordIndexes[i], Ordinal = page.RecordOrdinals[i] });
    }

    /// <summary>The query's filter, checked: air-quality streams take any valid one, raw streams none.</summary>
    private static QueryFilter CheckFilter(QueryFilter? filter, StreamDefinition stream)
    {
        filter ??= new QueryFilter();
        if (stream.Format == StreamFormat.Raw)
        {
            if (!filter.Equals(new QueryFilter()))
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"stream '{stream.Name}' is raw: filters (time, parameter, AQI, box, site) apply to air-quality streams only"));
            return filter;
        }
        if (!QueryFilters.TryConvert(filter, out _, out var error)) throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        return filter;
    }

    public override async Task<AggregateReply> Aggregate(AggregateRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var stream = await ResolveAsync(request.Stream, ct).ConfigureAwait(false);
        var filter = CheckFilter(request.Filter, stream);
        metrics.QueryStarted();
        var aggregate = new Data.AirQualityAggregate();
        var coordinator = Coordinator(stream);
        var cursor = await coordinator.StartAsync(filter, ct, allowPartial: request.AllowPartial).ConfigureAwait(false);
        var missing = request.AllowPartial ? new SortedSet<uint>() : null;
        long rawCount = 0;
        // Pushed down: each replica aggregates its matching records; only partial rows travel.
        // Rows of a partition that fails part way (a degraded read) stay counted: the partition is
        // named missing, so the figures are a lower bound either way.
        await foreach (var (page, _) in coordinator.RunAsync(filter, cursor, ChunkRecordsMax, ct, aggregate: true, missing: missing).ConfigureAwait(false))
            foreach (var p in page.Aggregates)
            {
                if (stream.Format == StreamFormat.Raw) rawCount += p.Count;
                else aggregate.Add(new Data.AggregateRow(DateOnly.FromDayNumber(p.DayNumber), (Data.AirParameter)p.Parameter, p.Count, p.AqiCount, p.AqiSum, p.AqiMin, p.AqiMax));
            }
        if (stream.Format == StreamFormat.Raw) return new AggregateReply { Records = (ulong)rawCount, MissingPartitions = { missing ?? [] } };
        var reply = new AggregateReply { Records = (ulong)aggregate.Count, MissingPartitions = { missing ?? [] } };
        foreach (var row in aggregate.ByParameter) reply.ByParameter.Add(Row(Data.AirParameters.Name(row.Parameter), row));
        foreach (var row in aggregate.ByDay) reply.ByDay.Add(Row(row.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), row));
        return reply;
    }

    private static AggregateRow Row(string key, in Data.AggregateRow row) => new()
    {
        Key = key, Count = (ulong)row.Count, AqiCount = (ulong)row.AqiCount, AqiMin = row.AqiMin, AqiMax = row.AqiMax, AqiMean = row.AqiMean ?? 0,
    };
}
