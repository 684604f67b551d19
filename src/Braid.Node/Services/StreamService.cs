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
    /// batches acknowledged before it stay acknowledged. Batches that arrive together are proposed
    /// together (one hand-off to the partition loop; see <see cref="IngestStream"/>), in order: a
    /// batch is never proposed before one read earlier on the stream.
    /// </summary>
    public override async Task Ingest(IAsyncStreamReader<AppendRequest> requestStream, IServerStreamWriter<IngestAck> responseStream, ServerCallContext context)
    {
        var token = context.CancellationToken;
        var ingest = new IngestStream(IngestInflightMax, IngestStreamBytesMax, NodeBudget, metrics);
        var writer = Task.Run(() => ingest.WriteAnswersAsync(responseStream, token), CancellationToken.None);
        var proposals = new List<(AppendRequest, AppendWaiter)>();
        try
        {
            while (true)
            {
                var next = requestStream.MoveNext(token);
                // Nothing more has arrived: what was read goes to the loop before waiting for more.
                if (!next.IsCompleted) proposals = await ProposeAsync(proposals, token).ConfigureAwait(false);
                if (!await next.ConfigureAwait(false)) break;
                var received = requestStream.Current;
                int records;
                AppendRequest request;
                try
                {
                    var stream = raft.Streams.TryResolve(received.Stream, out var known) ? known : await ResolveAsync(received.Stream, token).ConfigureAwait(false);
                    (records, request) = Admit(received, stream);
                }
                catch (RpcException)
                {
                    // The stream ends on a refused batch; the good ones read before it still go in.
                    await ProposeAsync(proposals, token).ConfigureAwait(false);
                    throw;
                }
                var bytes = request.Payload.Length;
                if (!ingest.TryReserve(bytes))
                {
                    // The room comes from answers to what was read before: propose that first.
                    proposals = await ProposeAsync(proposals, token).ConfigureAwait(false);
                    await ingest.ReserveAsync(bytes, token).ConfigureAwait(false);
                }
                var batch = ingest.Track(received.Partition, request.Producer, request.Sequence, records, bytes);
                if (request.Forward)
                {
                    // A batch the client may want forwarded to the leader takes the single path
                    // (it can wait on another node); what came before it is proposed first.
                    proposals = await ProposeAsync(proposals, token).ConfigureAwait(false);
                    _ = AnswerAsync(request, batch, token);
                    continue;
                }
                proposals.Add((request, batch));
                if (proposals.Count >= ProposalsPerHandOff) proposals = await ProposeAsync(proposals, token).ConfigureAwait(false);
            }
            await ProposeAsync(proposals, token).ConfigureAwait(false);
            await ingest.DrainAsync(token).ConfigureAwait(false);
        }
        finally
        {
            ingest.Close();
            await writer.ConfigureAwait(false);
        }
    }

    /// <summary>Batches one hand-off to the partition loop carries at most.</summary>
    private const int ProposalsPerHandOff = 256;

    /// <summary>Hands <paramref name="proposals"/> to the loop (if any); returns the list to fill next.</summary>
    private async ValueTask<List<(AppendRequest, AppendWaiter)>> ProposeAsync(List<(AppendRequest, AppendWaiter)> proposals, CancellationToken token)
    {
        if (proposals.Count == 0) return proposals;
        await raft.ProposeAllAsync(proposals, token).ConfigureAwait(false);
        return [];
    }

    /// <summary>One batch through the forwarding path, its answer handed to its stream.</summary>
    private async Task AnswerAsync(AppendRequest request, AppendWaiter waiter, CancellationToken token)
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
        waiter.Complete(reply);
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
