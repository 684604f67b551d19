using Braid.Core.Streams;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Node.Services;

/// <summary>
/// Subscriptions (issue 13, item 4): a query whose snapshot keeps moving. Each round reads every
/// partition up to the commit index fixed for it (exactly as a query does, from any replica that
/// has applied it), then long-polls the partitions' leaders until one commits more. Every chunk's
/// cursor resumes right after it at any node; a subscriber that resumes from its last cursor sees
/// no record twice and misses none. Backpressure is gRPC's: a chunk is read only when the previous
/// one was written, so a slow subscriber holds at most a few chunks in this node's memory.
/// </summary>
internal sealed partial class StreamService
{
    private const uint SubscribeChunkDefault = 1000;
    private static readonly TimeSpan SubscribePoll = TimeSpan.FromSeconds(1);

    public override async Task Subscribe(SubscribeRequest request, IServerStreamWriter<SubscribeChunk> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var stream = await ResolveAsync(request.Stream, ct).ConfigureAwait(false);
        var filter = CheckFilter(request.Filter, stream);
        if (request.ChunkRecords > ChunkRecordsMax) throw new RpcException(new Status(StatusCode.InvalidArgument, $"chunk_records may be at most {ChunkRecordsMax}"));
        var chunk = request.ChunkRecords == 0 ? SubscribeChunkDefault : request.ChunkRecords;
        metrics.QueryStarted();
        var coordinator = Coordinator(stream);
        ScanCursor cursor;
        if (request.Consumer.Length > 0 && ConsumerCommit.ValidateName(request.Consumer) is { } badName)
            throw new RpcException(new Status(StatusCode.InvalidArgument, badName));
        if (!request.Cursor.IsEmpty) cursor = QueryCursors.Parse(request.Cursor, filter, stream);
        else if (request.Consumer.Length > 0
            && await coordinator.ConsumerStartAsync(filter, request.Consumer, request.Start == SubscribeRequest.Types.Start.Now, ct).ConfigureAwait(false) is { } committed)
        {
            cursor = committed;
            await responseStream.WriteAsync(new SubscribeChunk { Cursor = ByteString.CopyFrom(cursor.Encode()) }, ct).ConfigureAwait(false);
        }
        else
        {
            cursor = await coordinator.StartAsync(filter, ct).ConfigureAwait(false);
            if (request.Start == SubscribeRequest.Types.Start.Now)
                cursor = ScanCursor.At(cursor.FilterHash, [.. cursor.Positions.Select(p => p.Finished())], cursor.StreamId, cursor.Stream);
            // The first chunk tells the subscriber where it starts, even before any record arrives.
            await responseStream.WriteAsync(new SubscribeChunk { Cursor = ByteString.CopyFrom(cursor.Encode()) }, ct).ConfigureAwait(false);
        }
        while (!ct.IsCancellationRequested)
        {
            await foreach (var (page, after) in coordinator.RunAsync(filter, cursor, chunk, ct).ConfigureAwait(false))
            {
                cursor = after;
                if (page.RecordCount == 0) continue;
                var reply = new SubscribeChunk { Cursor = ByteString.CopyFrom(after.Encode()) };
                (reply.Records, reply.RecordCount) = Fill(stream, request.Typed, page, reply.RawRecords, reply.Positions, reply.Readings);
                await responseStream.WriteAsync(reply, ct).ConfigureAwait(false);
                metrics.ChunkSent();
            }
            cursor = await coordinator.ExtendAsync(cursor, SubscribePoll, ct).ConfigureAwait(false);
        }
    }
}
