using Google.Protobuf;
using Braid.Node.Partitions;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>The client-facing service: describe the cluster, append batches.</summary>
internal sealed class StreamService(RaftDriver raft, AppendForwarder appends, Overlay.OverlayDriver overlay, NodeOptions options, TimeProvider clock,
    Metrics.StreamMetrics metrics) : Protocol.V1.Stream.StreamBase
{
    private const uint ChunkRecordsDefault = 2000;
    private const uint ChunkRecordsMax = 20_000;

    private QueryCoordinator Coordinator => new(overlay, raft.Placement, options.NodeId, clock);

    public override async Task Query(QueryRequest request, IServerStreamWriter<QueryChunk> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var filter = request.Filter ?? new QueryFilter();
        if (!QueryFilters.TryConvert(filter, out _, out var error)) throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        metrics.QueryStarted();
        if (request.ChunkRecords > ChunkRecordsMax) throw new RpcException(new Status(StatusCode.InvalidArgument, $"chunk_records may be at most {ChunkRecordsMax}"));
        var cursor = request.Cursor.IsEmpty
            ? await Coordinator.StartAsync(filter, ct).ConfigureAwait(false)
            : QueryCursors.Parse(request.Cursor, filter, raft.Placement);
        var chunk = request.ChunkRecords == 0 ? ChunkRecordsDefault : request.ChunkRecords;
        var sentDone = false;
        ulong scanned = 0; // records scanned by pages with no match, reported with the next chunk sent
        await foreach (var (page, after) in Coordinator.RunAsync(filter, cursor, chunk, ct).ConfigureAwait(false))
        {
            var done = after.Done;
            scanned += page.Scanned;
            if (page.RecordCount == 0 && !done) continue;
            await responseStream.WriteAsync(new QueryChunk { Records = page.Records, RecordCount = page.RecordCount, Cursor = ByteString.CopyFrom(after.Encode()), Done = done, Scanned = scanned }, ct).ConfigureAwait(false);
            metrics.ChunkSent();
            scanned = 0;
            sentDone = done;
        }
        if (!sentDone)
        {
            await responseStream.WriteAsync(new QueryChunk { Records = Google.Protobuf.ByteString.CopyFrom(Data.RecordBatchCodec.Encode([])), Cursor = ByteString.CopyFrom(cursor.Encode()), Done = true, Scanned = scanned }, ct).ConfigureAwait(false);
            metrics.ChunkSent();
        }
    }

    public override async Task<AggregateReply> Aggregate(AggregateRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var filter = request.Filter ?? new QueryFilter();
        if (!QueryFilters.TryConvert(filter, out _, out var error)) throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        metrics.QueryStarted();
        var aggregate = new Data.AirQualityAggregate();
        var cursor = await Coordinator.StartAsync(filter, ct).ConfigureAwait(false);
        // Pushed down: each replica aggregates its matching records; only partial rows travel.
        await foreach (var (page, _) in Coordinator.RunAsync(filter, cursor, ChunkRecordsMax, ct, aggregate: true).ConfigureAwait(false))
            foreach (var p in page.Aggregates)
                aggregate.Add(new Data.AggregateRow(DateOnly.FromDayNumber(p.DayNumber), (Data.AirParameter)p.Parameter, p.Count, p.AqiCount, p.AqiSum, p.AqiMin, p.AqiMax));
        var reply = new AggregateReply { Records = (ulong)aggregate.Count };
        foreach (var row in aggregate.ByParameter) reply.ByParameter.Add(Row(Data.AirParameters.Name(row.Parameter), row));
        foreach (var row in aggregate.ByDay) reply.ByDay.Add(Row(row.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), row));
        return reply;
    }

    private static AggregateRow Row(string key, in Data.AggregateRow row) => new()
    {
        Key = key, Count = (ulong)row.Count, AqiCount = (ulong)row.AqiCount, AqiMin = row.AqiMin, AqiMax = row.AqiMax, AqiMean = row.AqiMean ?? 0,
    };

    internal const int PayloadBytesMax = 4 * 1024 * 1024;
    private const int IngestInflightMax = 512;

    /// <summary>Payload bytes one ingest stream may hold unanswered (a fast client cannot pin
    /// 512 batches of 4 MiB each: the count window alone allowed 2 GiB).</summary>
    internal const long IngestStreamBytesMax = 32L * 1024 * 1024;

    /// <summary>Payload bytes all of this node's appends together may hold unanswered.</summary>
    internal const long NodeAppendBytesMax = 256L * 1024 * 1024;

    private static readonly ByteBudget NodeBudget = new(NodeAppendBytesMax);


    public override Task<DescribeReply> Describe(DescribeRequest request, ServerCallContext context) =>
        raft.DescribeAsync(context.CancellationToken);

    public override async Task<AppendReply> Append(AppendRequest request, ServerCallContext context)
    {
        var records = Admit(request);
        var bytes = request.Payload.Length;
        await NodeBudget.TakeAsync(bytes, context.CancellationToken).ConfigureAwait(false);
        AppendReply reply;
        try { reply = await appends.AppendAsync(request, context.CancellationToken).ConfigureAwait(false); }
        finally { NodeBudget.Give(bytes); }
        metrics.Answered(reply, records);
        // A unary writer learns of a full disk as RESOURCE_EXHAUSTED; a stream gets NO_SPACE per batch and goes on.
        if (reply.Status == AppendStatus.NoSpace) throw new RpcException(new Status(StatusCode.ResourceExhausted, reply.Error));
        return reply;
    }

    /// <summary>
    /// Bidirectional ingest: reads batches while fewer than <see cref="IngestInflightMax"/> are
    /// unacknowledged (so a fast client cannot make the node buffer without bound), proposes each,
    /// and acknowledges each as it commits. A malformed batch ends the stream with a clear status;
    /// batches acknowledged before it stay acknowledged.
    /// </summary>
    public override async Task Ingest(IAsyncStreamReader<AppendRequest> requestStream, IServerStreamWriter<IngestAck> responseStream, ServerCallContext context)
    {
        var token = context.CancellationToken;
        var acks = System.Threading.Channels.Channel.CreateBounded<IngestAck>(IngestInflightMax);
        using var window = new SemaphoreSlim(IngestInflightMax);
        var streamBytes = new ByteBudget(IngestStreamBytesMax);
        var writer = Task.Run(async () =>
        {
            await foreach (var ack in acks.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                await responseStream.WriteAsync(ack, token).ConfigureAwait(false);
        }, CancellationToken.None);
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(token).ConfigureAwait(false))
            {
                var records = Admit(request);
                await window.WaitAsync(token).ConfigureAwait(false);
                await streamBytes.TakeAsync(request.Payload.Length, token).ConfigureAwait(false);
                await NodeBudget.TakeAsync(request.Payload.Length, token).ConfigureAwait(false);
                _ = AcknowledgeAsync(request, records, acks.Writer, window, streamBytes, token);
            }
            for (var i = 0; i < IngestInflightMax; i++) await window.WaitAsync(token).ConfigureAwait(false);
        }
        finally
        {
            acks.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
    }

    private async Task AcknowledgeAsync(AppendRequest request, int records, System.Threading.Channels.ChannelWriter<IngestAck> acks, SemaphoreSlim window, ByteBudget streamBytes, CancellationToken token)
    {
        AppendReply reply;
        try
        {
            reply = await appends.AppendAsync(request, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            reply = new AppendReply { Status = AppendStatus.Retry, Error = "cancelled" };
        }
        finally
        {
            NodeBudget.Give(request.Payload.Length);
            streamBytes.Give(request.Payload.Length);
        }
        metrics.Answered(reply, records);
        await acks.WriteAsync(new IngestAck { Partition = request.Partition, Producer = request.Producer, Sequence = request.Sequence, Reply = reply }, CancellationToken.None).ConfigureAwait(false);
        window.Release();
    }

    /// <summary>Checks a client's batch (<see cref="Validate"/>) and counts a refusal; returns its record count.</summary>
    private int Admit(AppendRequest request)
    {
        try
        {
            return Validate(request);
        }
        catch (RpcException)
        {
            metrics.Refused("invalid");
            throw;
        }
    }

    private int Validate(AppendRequest request)
    {
        if (request.Partition >= options.Partitions)
            throw new RpcException(new Status(StatusCode.NotFound, $"partition {request.Partition} does not exist (there are {options.Partitions}: 0-{options.Partitions - 1})"));
        if (request.Producer == 0 || request.Sequence == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "producer and sequence must be at least 1"));
        if (request.Payload.Length > PayloadBytesMax)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"batch of {request.Payload.Length} bytes exceeds the limit of {PayloadBytesMax}"));
        try
        {
            // Decodes every record once: a malformed batch is refused before it can be replicated.
            return Data.RecordBatchCodec.CountMatches(request.Payload.Span, Data.RecordFilter.All);
        }
        catch (Data.RecordFormatException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"batch ({request.Producer},{request.Sequence}) for partition {request.Partition} is not a record batch: {e.Message}"));
        }
    }
}
