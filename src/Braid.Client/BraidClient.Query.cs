using System.Runtime.CompilerServices;
using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Client;

/// <summary>One chunk of a query's result and the cursor that resumes after it.</summary>
/// <param name="Scanned">Records the replicas examined to produce this chunk (matching or not).</param>
/// <param name="MissingPartitions">Set on the last page of a partial query only (see
/// <see cref="QueryOptions.AllowPartial"/>): the partitions whose records are not all in the
/// result. Resuming from this page's <paramref name="Cursor"/> once they are back reads exactly
/// the rest.</param>
public sealed record QueryPage(IReadOnlyList<AirQualityRecord> Records, byte[] Cursor, bool Done, long Scanned = 0, IReadOnlyList<uint>? MissingPartitions = null)
{
    /// <summary>The query ended without some partitions (<see cref="MissingPartitions"/>).</summary>
    public bool Partial => MissingPartitions is { Count: > 0 };
}

/// <summary>How a query, an aggregate or a read runs.</summary>
public sealed record QueryOptions
{
    /// <summary>Records per chunk (0: the node's default).</summary>
    public uint ChunkRecords { get; init; }

    /// <summary>
    /// Degraded read. Off (the default): a partition with no quorum fails the query within a few
    /// seconds with <see cref="BraidPartitionsUnavailableException"/> naming the partitions. On:
    /// the query returns what the other partitions hold and its last page names the missing ones
    /// (<see cref="QueryPage.MissingPartitions"/>, <see cref="RawChunk.MissingPartitions"/>,
    /// <c>AggregateReply.MissingPartitions</c>); its cursor resumes them later.
    /// </summary>
    public bool AllowPartial { get; init; }
}

/// <summary>Resumable queries: a broken stream is resumed from the last cursor at another node.</summary>
public sealed partial class BraidClient
{
    /// <summary>The records matching <paramref name="filter"/>, exactly once each, across node failures.</summary>
    public async IAsyncEnumerable<AirQualityRecord> QueryAsync(QueryFilter filter, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var page in QueryPagesAsync(filter, null, 0, ct).ConfigureAwait(false))
            foreach (var record in page.Records) yield return record;
    }

    /// <summary>
    /// Pages of the result, starting at <paramref name="cursor"/> (null: a new snapshot). When the
    /// serving node fails the query resumes from the last page's cursor at another node, which
    /// yields exactly the rest of the same snapshot.
    /// </summary>
    public IAsyncEnumerable<QueryPage> QueryPagesAsync(QueryFilter filter, byte[]? cursor, uint chunkRecords, CancellationToken ct = default) =>
        QueryPagesAsync(filter, cursor, new QueryOptions { ChunkRecords = chunkRecords }, ct);

    /// <summary>
    /// Pages of the result as <see cref="QueryPagesAsync(QueryFilter, byte[], uint, CancellationToken)"/>,
    /// run as <paramref name="options"/> say: with <see cref="QueryOptions.AllowPartial"/> the
    /// enumeration may end with a page that is not <see cref="QueryPage.Done"/> but
    /// <see cref="QueryPage.Partial"/>.
    /// </summary>
    /// <exception cref="BraidPartitionsUnavailableException">partitions with no quorum, without <see cref="QueryOptions.AllowPartial"/>.</exception>
    public async IAsyncEnumerable<QueryPage> QueryPagesAsync(QueryFilter filter, byte[]? cursor, QueryOptions options,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var current = cursor is null ? ByteString.Empty : ByteString.CopyFrom(cursor);
        var address = NextNode(null);
        var backoff = NewBackoff();
        var lastProgress = Options.Clock.GetTimestamp();
        var verdicts = new UnavailableVerdicts(Nodes.Count);
        while (true)
        {
            using var call = Stream(address).Query(new QueryRequest { Filter = filter, Cursor = current, ChunkRecords = options.ChunkRecords, AllowPartial = options.AllowPartial }, cancellationToken: ct);
            var stream = call.ResponseStream;
            while (true)
            {
                var (chunk, error) = await NextAsync(stream, ct).ConfigureAwait(false);
                if (error is not null)
                {
                    if (!ct.IsCancellationRequested && verdicts.Failed(error) is { } verdict) throw Errors.From(verdict, $"query at {address}");
                    if (!IsTransient(error, ct)) throw new BraidException($"query failed at {address}: {error.Status.StatusCode}: {error.Status.Detail}", error);
                    if (Options.Clock.GetElapsedTime(lastProgress) > Options.StallTimeout)
                        throw new BraidException($"query made no progress for {Options.StallTimeout.TotalSeconds:F0} s; last error at {address}: {error.Status.Detail}", error);
                    Stats.Failover();
                    address = NextNode(address);
                    await Task.Delay(backoff.Next(), Options.Clock, ct).ConfigureAwait(false);
                    break;
                }
                if (chunk is null)
                {
                    // Ended without a final chunk: resume from the cursor, after a pause, elsewhere.
                    if (Options.Clock.GetElapsedTime(lastProgress) > Options.StallTimeout)
                        throw new BraidException($"query made no progress for {Options.StallTimeout.TotalSeconds:F0} s; {address} keeps ending the stream early");
                    address = NextNode(address);
                    await Task.Delay(backoff.Next(), Options.Clock, ct).ConfigureAwait(false);
                    break;
                }
                backoff.Reset();
                verdicts.Progress();
                lastProgress = Options.Clock.GetTimestamp();
                current = chunk.Cursor;
                yield return new QueryPage(RecordBatchCodec.Decode(chunk.Records.Span), chunk.Cursor.ToByteArray(), chunk.Done, (long)chunk.Scanned,
                    chunk.MissingPartitions.Count > 0 ? [.. chunk.MissingPartitions] : null);
                if (chunk.Done || chunk.MissingPartitions.Count > 0) yield break;
            }
        }
    }

    /// <summary>Count, min, max and mean AQI by parameter and by day, computed by the cluster.</summary>
    public Task<AggregateReply> AggregateAsync(QueryFilter filter, CancellationToken ct = default) => AggregateAsync(filter, new QueryOptions(), ct);

    /// <summary>The aggregate, run as <paramref name="options"/> say: with
    /// <see cref="QueryOptions.AllowPartial"/>, partitions with no quorum are left out and named in
    /// <c>AggregateReply.MissingPartitions</c>.</summary>
    /// <exception cref="BraidPartitionsUnavailableException">partitions with no quorum, without <see cref="QueryOptions.AllowPartial"/>.</exception>
    public async Task<AggregateReply> AggregateAsync(QueryFilter filter, QueryOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = NextNode(null);
        var backoff = NewBackoff();
        var verdicts = new UnavailableVerdicts(Nodes.Count);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await Stream(address).AggregateAsync(new AggregateRequest { Filter = filter, AllowPartial = options.AllowPartial },
                    deadline: Options.Clock.GetUtcNow().UtcDateTime.AddMinutes(5), cancellationToken: ct).ConfigureAwait(false);
            }
            catch (RpcException e) when (!ct.IsCancellationRequested && verdicts.Failed(e) is { } verdict)
            {
                throw Errors.From(verdict, $"aggregate at {address}");
            }
            catch (RpcException e) when (IsTransient(e, ct) && attempt < Nodes.Count * 3)
            {
                Stats.Failover();
                address = NextNode(address);
                await Task.Delay(backoff.Next(), Options.Clock, ct).ConfigureAwait(false);
            }
        }
    }

    private static async Task<(QueryChunk? Chunk, RpcException? Error)> NextAsync(IAsyncStreamReader<QueryChunk> stream, CancellationToken ct)
    {
        try
        {
            return await stream.MoveNext(ct).ConfigureAwait(false) ? (stream.Current, null) : (null, null);
        }
        catch (RpcException e)
        {
            return (null, e);
        }
    }

    internal static bool IsTransient(RpcException e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal
            or StatusCode.Cancelled or StatusCode.Aborted or StatusCode.Unknown;
}
