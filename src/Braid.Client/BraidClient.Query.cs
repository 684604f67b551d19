using System.Runtime.CompilerServices;
using Braid.Data;
using Braid.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Braid.Client;

/// <summary>One chunk of a query's result and the cursor that resumes after it.</summary>
/// <param name="Scanned">Records the replicas examined to produce this chunk (matching or not).</param>
public sealed record QueryPage(IReadOnlyList<AirQualityRecord> Records, byte[] Cursor, bool Done, long Scanned = 0);

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
    public async IAsyncEnumerable<QueryPage> QueryPagesAsync(QueryFilter filter, byte[]? cursor, uint chunkRecords,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var current = cursor is null ? ByteString.Empty : ByteString.CopyFrom(cursor);
        var address = NextNode(null);
        var backoff = NewBackoff();
        var lastProgress = Options.Clock.GetTimestamp();
        while (true)
        {
            using var call = Stream(address).Query(new QueryRequest { Filter = filter, Cursor = current, ChunkRecords = chunkRecords }, cancellationToken: ct);
            var stream = call.ResponseStream;
            while (true)
            {
                var (chunk, error) = await NextAsync(stream, ct).ConfigureAwait(false);
                if (error is not null)
                {
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
                lastProgress = Options.Clock.GetTimestamp();
                current = chunk.Cursor;
                yield return new QueryPage(RecordBatchCodec.Decode(chunk.Records.Span), chunk.Cursor.ToByteArray(), chunk.Done, (long)chunk.Scanned);
                if (chunk.Done) yield break;
            }
        }
    }

    /// <summary>Count, min, max and mean AQI by parameter and by day, computed by the cluster.</summary>
    public async Task<AggregateReply> AggregateAsync(QueryFilter filter, CancellationToken ct = default)
    {
        var address = NextNode(null);
        var backoff = NewBackoff();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await Stream(address).AggregateAsync(new AggregateRequest { Filter = filter }, deadline: Options.Clock.GetUtcNow().UtcDateTime.AddMinutes(5), cancellationToken: ct).ConfigureAwait(false);
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
