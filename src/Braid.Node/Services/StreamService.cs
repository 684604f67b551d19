using Google.Protobuf;
using Braid.Node.Partitions;
using Braid.Core.Streams;
using Braid.Protocol.V1;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>The client-facing service: describe the cluster, append batches (the queries,
/// subscriptions and stream administration are in the other parts of this class).</summary>
internal sealed partial class StreamService(RaftDriver raft, AppendForwarder appends, Overlay.OverlayDriver overlay, NodeOptions options, TimeProvider clock,
    Metrics.StreamMetrics metrics) : Protocol.V1.Stream.StreamBase
{
    private const uint ChunkRecordsDefault = 2000;
    private const uint ChunkRecordsMax = 20_000;

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
        var stream = await ResolveAsync(request.Stream, context.CancellationToken).ConfigureAwait(false);
        var (records, internalRequest) = Admit(request, stream);
        request = internalRequest;
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
            await foreach (var received in requestStream.ReadAllAsync(token).ConfigureAwait(false))
            {
                var stream = await ResolveAsync(received.Stream, token).ConfigureAwait(false);
                var (records, request) = Admit(received, stream);
                await window.WaitAsync(token).ConfigureAwait(false);
                await streamBytes.TakeAsync(request.Payload.Length, token).ConfigureAwait(false);
                await NodeBudget.TakeAsync(request.Payload.Length, token).ConfigureAwait(false);
                _ = AcknowledgeAsync(request, received.Partition, records, acks.Writer, window, streamBytes, token);
            }
            for (var i = 0; i < IngestInflightMax; i++) await window.WaitAsync(token).ConfigureAwait(false);
        }
        finally
        {
            acks.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
    }

    private async Task AcknowledgeAsync(AppendRequest request, uint partition, int records, System.Threading.Channels.ChannelWriter<IngestAck> acks, SemaphoreSlim window, ByteBudget streamBytes, CancellationToken token)
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
        await acks.WriteAsync(new IngestAck { Partition = partition, Producer = request.Producer, Sequence = request.Sequence, Reply = reply }, CancellationToken.None).ConfigureAwait(false);
        window.Release();
    }

    /// <summary>Checks a client's batch (<see cref="Validate"/>) and counts a refusal; returns its
    /// record count and the request the partition loop gets: the stream's Raft group in
    /// <c>partition</c> and the stored encoding in <c>payload</c>.</summary>
    private (int Records, AppendRequest Internal) Admit(AppendRequest request, StreamDefinition stream)
    {
        try
        {
            return Validate(request, stream);
        }
        catch (RpcException)
        {
            metrics.Refused("invalid");
            throw;
        }
    }

    private static (int Records, AppendRequest Internal) Validate(AppendRequest request, StreamDefinition stream)
    {
        if (request.Partition >= stream.PartitionCount)
            throw new RpcException(new Status(StatusCode.NotFound, $"partition {request.Partition} of stream '{stream.Name}' does not exist (it has {stream.PartitionCount}: 0-{stream.PartitionCount - 1})"));
        if (request.Producer == 0 || request.Sequence == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "producer and sequence must be at least 1"));
        if (request.Payload.Length > PayloadBytesMax)
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"batch of {request.Payload.Length} bytes exceeds the limit of {PayloadBytesMax}"));
        var payload = request.Payload;
        int records;
        if (stream.Format == StreamFormat.Raw)
            (records, payload) = RawPayload(request, stream);
        else if (request.Records.Count > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"stream '{stream.Name}' holds air-quality records: send them as readings (or in payload, a record batch), not as raw records"));
        else if (request.Readings.Count > 0)
            (records, payload) = TypedPayload(request, $"batch ({request.Producer},{request.Sequence}) for {stream.Name}/{request.Partition}");
        else
        {
            try
            {
                // Decodes every record once: a malformed batch is refused before it can be replicated.
                records = Data.RecordBatchCodec.CountMatches(payload.Span, Data.RecordFilter.All);
            }
            catch (Data.RecordFormatException e)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"batch ({request.Producer},{request.Sequence}) for partition {request.Partition} is not a record batch: {e.Message}"));
            }
        }
        var group = stream.Group(request.Partition);
        var inner = group == request.Partition && payload == request.Payload && request.Records.Count == 0 && request.Readings.Count == 0 && request.Stream.Length == 0 ? request
            : new AppendRequest { Partition = group, Producer = request.Producer, Sequence = request.Sequence, Payload = payload, Forward = request.Forward };
        return (records, inner);
    }

    /// <summary>A raw stream's batch: records sent as messages are checked and encoded here; an
    /// encoded batch is verified in place with the same limits.</summary>
    private static (int Records, ByteString Payload) RawPayload(AppendRequest request, StreamDefinition stream)
    {
        var where = $"batch ({request.Producer},{request.Sequence}) for {stream.Name}/{request.Partition}";
        if (request.Readings.Count > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where}: stream '{stream.Name}' is raw: send records (key, value, headers), not air-quality readings"));
        if (request.Records.Count == 0)
        {
            // An encoded batch is checked in place with the same limits (no record is built: files send 4 MiB batches).
            int count;
            try
            {
                count = Data.RawBatchCodec.Verify(request.Payload.Span);
            }
            catch (Data.RecordFormatException e)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where} is not a raw record batch: {e.Message}"));
            }
            if (count == 0) throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where} holds no records"));
            return (count, request.Payload);
        }
        if (!request.Payload.IsEmpty) throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where}: send records or an encoded payload, not both"));
        var records = request.Records;
        for (var i = 0; i < records.Count; i++)
            if (Data.RawBatchCodec.Validate(records[i], i) is { } problem)
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where}: {problem}"));
        var encoded = Data.RawBatchCodec.Encode(records);
        if (encoded.Length > PayloadBytesMax)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{where} encodes to {encoded.Length} bytes, over the batch limit of {PayloadBytesMax}: send fewer or smaller records"));
        return (records.Count, ByteString.CopyFrom(encoded));
    }

    /// <summary>The stream a request names ("" is the default stream); a name this node does not
    /// know yet makes it fetch the catalog once before it answers NOT_FOUND.</summary>
    private async Task<StreamDefinition> ResolveAsync(string name, CancellationToken ct)
    {
        if (raft.Streams.TryResolve(name, out var stream)) return stream;
        if (StreamGroups.ValidateName(name) is { } bad) throw new RpcException(new Status(StatusCode.InvalidArgument, bad));
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await raft.RefreshCatalogAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
        }
        return raft.Streams.TryResolve(name, out stream) ? stream : throw new RpcException(new Status(StatusCode.NotFound, $"no stream named '{name}'"));
    }
}
