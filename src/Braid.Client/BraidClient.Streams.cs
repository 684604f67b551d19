using System.Runtime.CompilerServices;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Client;

/// <summary>Raw records read back, with the position of each and the cursor that resumes after them.</summary>
/// <param name="MissingPartitions">The last chunk of a partial read only (<see cref="QueryOptions.AllowPartial"/>):
/// the partitions whose records are not all in the result; its cursor resumes them later.</param>
public sealed record RawChunk(IReadOnlyList<RawRecord> Records, IReadOnlyList<RecordPosition> Positions, byte[] Cursor, bool Done, IReadOnlyList<uint>? MissingPartitions = null)
{
    /// <summary>The read ended without some partitions (<see cref="MissingPartitions"/>).</summary>
    public bool Partial => MissingPartitions is { Count: > 0 };
}

/// <summary>Named streams (issue 13): administration, exactly-once appends of raw records, reads and subscriptions.</summary>
public sealed partial class BraidClient
{
    /// <summary>Creates a stream; idempotent (an existing stream with the same settings is answered unchanged).</summary>
    /// <exception cref="BraidException">refused (a name in use with other settings, bad settings) or no node could do it.</exception>
    /// <param name="retainTime">Retention by time: records applied at least this long ago may be removed (default: none).</param>
    public Task<StreamDescription> CreateStreamAsync(string name, string format, uint partitions, uint replicas, long retainBytes = 0, CancellationToken ct = default, TimeSpan retainTime = default) =>
        AnyNodeAsync((s, deadline) => s.CreateStreamAsync(new CreateStreamRequest { Name = name, Format = format, Partitions = partitions, Replicas = replicas, RetainBytes = retainBytes, RetainMs = (long)retainTime.TotalMilliseconds },
            deadline: deadline, cancellationToken: ct).ResponseAsync, $"create stream '{name}'", ct);

    /// <summary>Deletes a stream and its records; false when no stream had that name.</summary>
    public async Task<bool> DeleteStreamAsync(string name, CancellationToken ct = default) =>
        (await AnyNodeAsync((s, deadline) => s.DeleteStreamAsync(new DeleteStreamRequest { Name = name }, deadline: deadline, cancellationToken: ct).ResponseAsync,
            $"delete stream '{name}'", ct).ConfigureAwait(false)).Deleted;

    /// <summary>Every stream as the answering node knows it.</summary>
    public Task<ListStreamsReply> ListStreamsAsync(CancellationToken ct = default) =>
        AnyNodeAsync((s, deadline) => s.ListStreamsAsync(new ListStreamsRequest(), deadline: deadline, cancellationToken: ct).ResponseAsync, "list streams", ct);

    /// <summary>One stream's description, or null when there is none of that name.</summary>
    public async Task<StreamDescription?> DescribeStreamAsync(string name, CancellationToken ct = default) =>
        (await ListStreamsAsync(ct).ConfigureAwait(false)).Streams.FirstOrDefault(s => s.Name == name);

    /// <summary>
    /// Appends one batch of raw records to a partition, exactly once by (<paramref name="producer"/>,
    /// <paramref name="sequence"/>): retried through leader changes and node failures until it is
    /// acknowledged (committed on a majority). Returns the log index of the batch.
    /// </summary>
    public async Task<AppendReply> AppendRawAsync(string stream, uint partition, ulong producer, ulong sequence, IEnumerable<RawRecord> records, CancellationToken ct = default)
    {
        var reply = await AppendRawOrOutOfOrderAsync(stream, partition, producer, sequence, records, ct).ConfigureAwait(false);
        if (reply.Status == AppendStatus.OutOfOrder)
            throw new BraidException($"{stream}/{partition}: batch ({producer},{sequence}) is out of order; the partition expects sequence {reply.ExpectedSequence}");
        return reply;
    }

    /// <summary><see cref="AppendRawAsync"/>, but an out-of-order batch is answered (with the
    /// sequence the partition expects next, decided when it applied the batch) instead of thrown:
    /// how a file's put learns where an earlier, interrupted put of it stopped.</summary>
    internal async Task<AppendReply> AppendRawOrOutOfOrderAsync(string stream, uint partition, ulong producer, ulong sequence, IEnumerable<RawRecord> records,
        CancellationToken ct)
    {
        var request = new AppendRequest { Stream = stream, Partition = partition, Producer = producer, Sequence = sequence, Forward = true };
        request.Records.AddRange(records);
        // Refused here, before any network, with the node's own rules: a batch the node cannot take is not worth retrying.
        for (var i = 0; i < request.Records.Count; i++)
            if (Data.RawBatchCodec.Validate(request.Records[i], i) is { } problem) throw new BraidRefusedException($"{stream}/{partition}: batch ({producer},{sequence}): {problem}");
        if (request.CalculateSize() > BatchBytesMax)
            throw new BraidRefusedException($"{stream}/{partition}: batch ({producer},{sequence}) of {request.CalculateSize()} bytes is over the limit of {BatchBytesMax}: send fewer or smaller records");
        var key = StreamKey(stream, partition);
        var backoff = NewBackoff();
        var started = Options.Clock.GetTimestamp();
        string? address = null;
        while (true)
        {
            address ??= AddressFor(key);
            RpcException? failure = null;
            try
            {
                var reply = await Stream(address).AppendAsync(request, deadline: Options.Clock.GetUtcNow().UtcDateTime + Options.AckTimeout, cancellationToken: ct).ConfigureAwait(false);
                switch (reply.Status)
                {
                    case AppendStatus.AppendOk:
                        Stats.Ack(request.Records.Count, reply.Duplicate);
                        return reply;
                    case AppendStatus.OutOfOrder:
                        return reply;
                    case AppendStatus.NotLeader:
                        SetLeader(key, reply.LeaderAddress);
                        address = reply.LeaderAddress.Length > 0 ? reply.LeaderAddress : NextNode(address);
                        break;
                    default:
                        address = NextNode(address);
                        break;
                }
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.Unauthenticated)
            {
                throw Errors.From(e, $"append to {stream}/{partition}");
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                failure = e;
                SetLeader(key, null);
                address = NextNode(address);
            }
            Stats.Retry();
            if (Options.Clock.GetElapsedTime(started) > Options.StallTimeout)
                throw new BraidUnavailableException($"{stream}/{partition}: batch ({producer},{sequence}) not acknowledged within {Options.StallTimeout.TotalSeconds:F0} s{(failure is null ? "" : $": {failure.Status.Detail}")}", failure);
            await Task.Delay(backoff.Next(), Options.Clock, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The largest raw batch a node takes (its payload limit).</summary>
    public const int BatchBytesMax = 4 << 20;

    /// <summary>The leader map's key of a stream's partition (the default stream keeps its partition numbers).</summary>
    internal static uint StreamKey(string stream, uint partition) =>
        stream.Length == 0 || stream == "airquality" ? partition : (uint)(ProducerBatcher.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(stream)) & 0x7FFF) << 16 | partition | 0x8000_0000u;

    /// <summary>
    /// Reads a raw stream's records (a snapshot fixed at the start, or resumed at <paramref name="cursor"/>),
    /// in chunks, exactly once each across node failures.
    /// </summary>
    public IAsyncEnumerable<RawChunk> ReadRawAsync(string stream, byte[]? cursor = null, uint chunkRecords = 0, CancellationToken ct = default) =>
        ReadRawAsync(stream, [], cursor, chunkRecords, ct);

    /// <summary>
    /// Reads the records of some of a raw stream's partitions (<paramref name="partitions"/>;
    /// empty: all), as <see cref="ReadRawAsync(string, byte[], uint, CancellationToken)"/> does:
    /// only their leaders are asked to fix the snapshot and only their records are read. A
    /// resumed read (<paramref name="cursor"/>) covers what its cursor covers.
    /// </summary>
    public IAsyncEnumerable<RawChunk> ReadRawAsync(string stream, IReadOnlyCollection<uint> partitions, byte[]? cursor = null, uint chunkRecords = 0,
        CancellationToken ct = default) =>
        ReadRawAsync(stream, partitions, cursor, new QueryOptions { ChunkRecords = chunkRecords }, ct);

    /// <summary>
    /// Reads as <see cref="ReadRawAsync(string, IReadOnlyCollection{uint}, byte[], uint, CancellationToken)"/>
    /// does, run as <paramref name="options"/> say: with <see cref="QueryOptions.AllowPartial"/>
    /// the read may end with a chunk that is not done but <see cref="RawChunk.Partial"/>.
    /// </summary>
    /// <exception cref="BraidPartitionsUnavailableException">partitions with no quorum, without <see cref="QueryOptions.AllowPartial"/>.</exception>
    public async IAsyncEnumerable<RawChunk> ReadRawAsync(string stream, IReadOnlyCollection<uint> partitions, byte[]? cursor, QueryOptions options,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        ArgumentNullException.ThrowIfNull(options);
        var chunkRecords = options.ChunkRecords;
        var current = cursor is null ? ByteString.Empty : ByteString.CopyFrom(cursor);
        var address = NextNode(null);
        var backoff = NewBackoff();
        var lastProgress = Options.Clock.GetTimestamp();
        var verdicts = new UnavailableVerdicts(Nodes.Count);
        while (true)
        {
            var request = new QueryRequest { Stream = stream, Cursor = current, ChunkRecords = chunkRecords, AllowPartial = options.AllowPartial };
            request.Partitions.AddRange(partitions);
            using var call = Stream(address).Query(request, cancellationToken: ct);
            while (true)
            {
                var (chunk, error) = await NextAsync(call.ResponseStream, ct).ConfigureAwait(false);
                ct.ThrowIfCancellationRequested();
                if (error is not null && verdicts.Failed(error) is { } verdict) throw Errors.From(verdict, $"read of '{stream}' at {address}");
                if (error is not null && !IsTransient(error, ct)) throw Errors.From(error, $"read of '{stream}' at {address}");
                if (error is not null || chunk is null)
                {
                    if (Options.Clock.GetElapsedTime(lastProgress) > Options.StallTimeout)
                        throw new BraidUnavailableException($"read of '{stream}' made no progress for {Options.StallTimeout.TotalSeconds:F0} s; last at {address}: {error?.Status.Detail ?? "ended early"}", error);
                    Stats.Failover();
                    address = NextNode(address);
                    await Task.Delay(backoff.Next(), Options.Clock, ct).ConfigureAwait(false);
                    break;
                }
                backoff.Reset();
                verdicts.Progress();
                lastProgress = Options.Clock.GetTimestamp();
                current = chunk.Cursor;
                yield return new RawChunk(chunk.RawRecords, chunk.Positions, chunk.Cursor.ToByteArray(), chunk.Done, chunk.MissingPartitions.Count > 0 ? [.. chunk.MissingPartitions] : null);
                if (chunk.Done || chunk.MissingPartitions.Count > 0) yield break;
            }
        }
    }

    /// <summary>
    /// Follows a stream as it grows: committed records in order per partition, from the beginning
    /// (or from now, or right after <paramref name="cursor"/>). A broken subscription resumes from
    /// the last chunk's cursor at another node, so no record is missed or repeated. Never ends by
    /// itself; cancel <paramref name="ct"/> to stop.
    /// </summary>
    /// <param name="consumer">A durable consumer: with no cursor, the subscription starts at its
    /// committed position (<see cref="CommitPositionAsync"/>) in each partition, and as
    /// <paramref name="start"/> says where it has none.</param>
    public async IAsyncEnumerable<SubscribeChunk> SubscribeAsync(string stream, SubscribeRequest.Types.Start start = SubscribeRequest.Types.Start.Beginning,
        byte[]? cursor = null, uint chunkRecords = 0, [EnumeratorCancellation] CancellationToken ct = default, string consumer = "")
    {
        var current = cursor is null ? ByteString.Empty : ByteString.CopyFrom(cursor);
        var address = NextNode(null);
        var backoff = NewBackoff();
        var lastProgress = Options.Clock.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            using var call = Stream(address).Subscribe(new SubscribeRequest { Stream = stream, Start = start, Cursor = current, ChunkRecords = chunkRecords, Consumer = consumer }, cancellationToken: ct);
            while (true)
            {
                SubscribeChunk? chunk = null;
                RpcException? error = null;
                try
                {
                    if (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false)) chunk = call.ResponseStream.Current;
                }
                catch (RpcException e)
                {
                    error = e;
                }
                if (ct.IsCancellationRequested) yield break;
                if (error is not null && !IsTransient(error, ct)) throw Errors.From(error, $"subscription to '{stream}' at {address}");
                if (error is not null || chunk is null)
                {
                    if (Options.Clock.GetElapsedTime(lastProgress) > Options.StallTimeout)
                        throw new BraidUnavailableException($"subscription to '{stream}' broke for {Options.StallTimeout.TotalSeconds:F0} s; last at {address}: {error?.Status.Detail ?? "ended"}", error);
                    Stats.Failover();
                    address = NextNode(address);
                    await Task.Delay(backoff.Next(), Options.Clock, ct).ConfigureAwait(false);
                    break;
                }
                backoff.Reset();
                lastProgress = Options.Clock.GetTimestamp();
                current = chunk.Cursor;
                yield return chunk;
            }
        }
    }

    /// <summary>
    /// Commits a durable consumer's position: <paramref name="cursor"/> (a subscription chunk's)
    /// becomes where a subscription naming <paramref name="consumer"/> resumes, in every partition
    /// of the stream, replicated with each partition. Positions only move forward.
    /// </summary>
    public Task<CommitPositionReply> CommitPositionAsync(string stream, string consumer, byte[] cursor, CancellationToken ct = default) =>
        AnyNodeAsync((s, deadline) => s.CommitPositionAsync(new CommitPositionRequest { Stream = stream, Consumer = consumer, Cursor = ByteString.CopyFrom(cursor) },
            deadline: deadline, cancellationToken: ct).ResponseAsync, $"commit of consumer '{consumer}' on '{stream}'", ct);

    /// <summary>
    /// The commit-after-process loop of a durable consumer: follows the stream from the consumer's
    /// committed position, hands each chunk to <paramref name="process"/>, and commits the chunk's
    /// cursor once it returns. A consumer that dies resumes after its last commit from any node,
    /// so a chunk processed but not committed is delivered again: at least once. Runs until
    /// <paramref name="ct"/> is cancelled.
    /// </summary>
    public async Task ConsumeAsync(string stream, string consumer, Func<SubscribeChunk, CancellationToken, Task> process,
        SubscribeRequest.Types.Start start = SubscribeRequest.Types.Start.Beginning, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(process);
        try
        {
            await foreach (var chunk in SubscribeAsync(stream, start, null, 0, ct, consumer).ConfigureAwait(false))
            {
                if (chunk.RawRecords.Count == 0 && chunk.RecordCount == 0) continue;
                await process(chunk, ct).ConfigureAwait(false);
                await CommitPositionAsync(stream, consumer, chunk.Cursor.ToByteArray(), ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private readonly Dictionary<string, Task<BraidProducer>> producers = new(StringComparer.Ordinal);

    /// <summary>
    /// Produces one record to a raw stream, batched with others for the caller (see
    /// <see cref="BraidProducer"/>; one producer per stream, made on first use with
    /// <see cref="BraidClientOptions.Producer"/>); completes with the record's position once it is
    /// committed on a majority.
    /// </summary>
    public async Task<RecordPosition> ProduceAsync(string stream, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, IEnumerable<RecordHeader>? headers = null, CancellationToken ct = default)
    {
        Task<BraidProducer> producer;
        lock (producers)
        {
            if (!producers.TryGetValue(stream, out producer!) || producer.IsFaulted) producers[stream] = producer = BraidProducer.CreateAsync(this, stream, Options.Producer, CancellationToken.None);
        }
        return await (await producer.ConfigureAwait(false)).ProduceAsync(key, value, headers, ct).ConfigureAwait(false);
    }

    /// <summary>Sends every record given to <see cref="ProduceAsync(string, ReadOnlyMemory{byte}, ReadOnlyMemory{byte}, IEnumerable{RecordHeader}?, CancellationToken)"/> so far and waits for their acknowledgements.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        List<Task<BraidProducer>> all;
        lock (producers) all = [.. producers.Values];
        foreach (var p in all)
            if (p.IsCompletedSuccessfully) await p.Result.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Runs a unary call at one node after another until one answers (transient failures only).</summary>
    private async Task<T> AnyNodeAsync<T>(Func<Protocol.V1.Stream.StreamClient, DateTime, Task<T>> call, string what, CancellationToken ct)
    {
        var address = NextNode(null);
        var backoff = NewBackoff();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call(Stream(address), Options.Clock.GetUtcNow().UtcDateTime.AddSeconds(30)).ConfigureAwait(false);
            }
            catch (RpcException e) when (IsTransient(e, ct) && attempt < Nodes.Count * 3)
            {
                Stats.Failover();
                address = NextNode(address);
                await Task.Delay(backoff.Next(), Options.Clock, ct).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                ct.ThrowIfCancellationRequested();
                throw Errors.From(e, $"{what} at {address}");
            }
        }
    }
}

/// <summary>No such stream, partition or object.</summary>
public sealed class BraidNotFoundException(string message, Exception? inner = null) : BraidException(message, inner);

/// <summary>No node could do it now (no leader, no quorum, nodes unreachable); worth retrying later.</summary>
public class BraidUnavailableException(string message, Exception? inner = null) : BraidException(message, inner);

/// <summary>The request was refused as malformed or against a limit (bad name, oversized value, a cursor of another stream...).</summary>
public sealed class BraidRefusedException(string message, Exception? inner = null) : BraidException(message, inner);

/// <summary>The position asked for is gone (removed by retention) or beyond the stream.</summary>
public sealed class BraidOutOfRangeException(string message, Exception? inner = null) : BraidException(message, inner);

/// <summary>The caller has no identity the cluster trusts, or lacks the role.</summary>
public sealed class BraidUnauthenticatedException(string message, Exception? inner = null) : BraidException(message, inner);

/// <summary>Turns a gRPC status into the exception of its kind.</summary>
internal static class Errors
{
    public static BraidException From(RpcException e, string what)
    {
        var message = $"{what}: {e.Status.StatusCode}: {e.Status.Detail}";
        if (UnavailablePartitions.Of(e) is { } partitions) return new BraidPartitionsUnavailableException(message, partitions, e);
        return e.StatusCode switch
        {
            StatusCode.NotFound => new BraidNotFoundException(message, e),
            StatusCode.InvalidArgument or StatusCode.AlreadyExists or StatusCode.FailedPrecondition or StatusCode.ResourceExhausted => new BraidRefusedException(message, e),
            StatusCode.OutOfRange => new BraidOutOfRangeException(message, e),
            StatusCode.Unauthenticated or StatusCode.PermissionDenied => new BraidUnauthenticatedException(message, e),
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Aborted => new BraidUnavailableException(message, e),
            _ => new BraidException(message, e),
        };
    }
}
