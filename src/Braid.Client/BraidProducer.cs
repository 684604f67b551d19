using System.Threading.Channels;
using Braid.Protocol.V1;
using Google.Protobuf;

namespace Braid.Client;

/// <summary>
/// Produces records to one raw stream one at a time and batches them for the caller (issue 13,
/// item 5), as Kafka's producer does with <c>linger.ms</c> and <c>batch.size</c>: a record waits at
/// most <see cref="ProducerOptions.Linger"/> for others to share its batch; memory is bounded by
/// <see cref="ProducerOptions.BufferBytesMax"/> (a full buffer makes <see cref="ProduceAsync"/>
/// wait). Each batch is appended exactly once per (producer, sequence), one batch in flight per
/// partition so that order within a partition is the order of the calls. The task of a record
/// completes with its position once its batch is committed on a majority, or fails with the
/// batch's error.
/// </summary>
public sealed class BraidProducer : IAsyncDisposable
{
    private readonly BraidClient client;
    private readonly ProducerBatcher batcher;
    private readonly ulong[] producers;
    private readonly ulong[] sequences;
    private readonly Channel<ProducerBatch>[] queues;
    private readonly Task[] senders;
    private readonly Task pump;
    private readonly CancellationTokenSource stop = new();
    private readonly SemaphoreSlim wake = new(0);
    private readonly long started;

    private BraidProducer(BraidClient client, string stream, int partitions, ProducerOptions options)
    {
        this.client = client;
        Stream = stream;
        batcher = new ProducerBatcher(partitions, options);
        producers = [.. Enumerable.Range(0, partitions).Select(_ => NewProducerId())];
        sequences = new ulong[partitions];
        started = client.Options.Clock.GetTimestamp();
        queues = [.. Enumerable.Range(0, partitions).Select(_ => Channel.CreateUnbounded<ProducerBatch>(new UnboundedChannelOptions { SingleReader = true }))];
        senders = [.. Enumerable.Range(0, partitions).Select(p => Task.Run(() => SendAsync(p)))];
        pump = Task.Run(PumpAsync);
    }

    /// <summary>The stream produced to.</summary>
    public string Stream { get; }

    private static ulong NewProducerId() => (ulong)Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>A producer for the raw stream <paramref name="stream"/>.</summary>
    /// <exception cref="BraidNotFoundException">no such stream.</exception>
    /// <exception cref="BraidRefusedException">the stream is not raw.</exception>
    public static async Task<BraidProducer> CreateAsync(BraidClient client, string stream, ProducerOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var description = await client.DescribeStreamAsync(stream, ct).ConfigureAwait(false) ?? throw new BraidNotFoundException($"no stream named '{stream}'");
        if (description.Format != "raw") throw new BraidRefusedException($"stream '{stream}' is {description.Format}; a producer writes raw streams");
        return new BraidProducer(client, stream, description.Partitions.Count, options ?? new ProducerOptions());
    }

    private TimeSpan Now => client.Options.Clock.GetElapsedTime(started);

    /// <summary>Adds a record to its partition's batch (by the key's hash; round robin for an empty key) and
    /// returns once it is acknowledged, with its position.</summary>
    public Task<RecordPosition> ProduceAsync(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, IEnumerable<RecordHeader>? headers = null, CancellationToken ct = default) =>
        ProduceAsync(Record(key, value, headers), partition: null, ct);

    /// <summary>Adds a record to the given partition's batch.</summary>
    public Task<RecordPosition> ProduceAsync(int partition, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, IEnumerable<RecordHeader>? headers = null, CancellationToken ct = default) =>
        ProduceAsync(Record(key, value, headers), partition, ct);

    private RawRecord Record(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, IEnumerable<RecordHeader>? headers)
    {
        var record = new RawRecord { Key = ByteString.CopyFrom(key.Span), Value = ByteString.CopyFrom(value.Span), TimestampMs = client.Options.Clock.GetUtcNow().ToUnixTimeMilliseconds() };
        if (headers is not null) record.Headers.AddRange(headers);
        return record;
    }

    private async Task<RecordPosition> ProduceAsync(RawRecord record, int? partition, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(stop.IsCancellationRequested, this);
        Task<RecordPosition>? ack;
        while (!(partition is { } p ? batcher.TryAdd(record, p, Now, out ack) : batcher.TryAdd(record, Now, out ack)))
            await batcher.WaitForRoomAsync(record, ct).ConfigureAwait(false);
        wake.Release();
        return await ack.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Sends every record added so far now and waits until all are acknowledged or failed.</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        batcher.Flush();
        wake.Release();
        while (batcher.BufferedRecords > 0)
        {
            ct.ThrowIfCancellationRequested();
            await Task.Delay(1, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Hands ready batches (full, or past their linger) to the partitions' senders.</summary>
    private async Task PumpAsync()
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var batch in batcher.TakeReady(Now)) queues[batch.Partition].Writer.TryWrite(batch);
                var wait = batcher.NextReadyAt is { } at ? at - Now : Timeout.InfiniteTimeSpan;
                if (wait != Timeout.InfiniteTimeSpan && wait <= TimeSpan.Zero) continue;
                await wake.WaitAsync(wait, stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Bytes (<see cref="ProducerBatch.Bytes"/>) one append carries at most when it joins batches
    /// that waited while the one before was in flight: well under the node's limit
    /// (<see cref="BraidClient.BatchBytesMax"/>), whatever the request adds per record.
    /// </summary>
    internal const long JoinedBytesMax = 1 << 20;

    private async Task SendAsync(int partition)
    {
        var reader = queues[partition].Reader;
        var joined = new List<ProducerBatch>();
        var records = new List<RawRecord>();
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            // Every batch sealed while the previous append was in flight goes out in this one
            // append (one Raft entry), as Kafka's sender drains a partition's ready batches into
            // one request: with one append in flight per partition (order), sending them one by
            // one would cap a partition at one lingered batch per round trip however many wait.
            joined.Clear();
            records.Clear();
            long bytes = 0;
            while (reader.TryPeek(out var next) && (joined.Count == 0 || bytes + next.Bytes <= Math.Max(JoinedBytesMax, batcher.Options.BatchBytesMax)) && reader.TryRead(out next))
            {
                joined.Add(next);
                records.AddRange(next.Records);
                bytes += next.Bytes;
            }
            try
            {
                var reply = await client.AppendRawAsync(Stream, (uint)partition, producers[partition], ++sequences[partition], records, stop.Token).ConfigureAwait(false);
                uint ordinal = 0;
                foreach (var batch in joined)
                {
                    batcher.Acknowledge(batch, new RecordPosition { Partition = (uint)partition, Index = reply.Index, Ordinal = ordinal });
                    ordinal += (uint)batch.Count;
                }
            }
            catch (Exception e)
            {
                if (e is BraidRefusedException or BraidNotFoundException or BraidUnauthenticatedException) sequences[partition]--; // refused before it was proposed
                else
                {
                    // Stored or not, nobody knows: that sequence can never carry other records, so the
                    // partition goes on under a new producer id (exactly-once holds per id).
                    producers[partition] = NewProducerId();
                    sequences[partition] = 0;
                }
                foreach (var batch in joined) batcher.Fail(batch, e);
            }
            wake.Release();
        }
    }

    /// <summary>Flushes what was produced, then stops; records still unacknowledged fail.</summary>
    public async ValueTask DisposeAsync()
    {
        if (stop.IsCancellationRequested) return;
        try
        {
            using var flush = new CancellationTokenSource(client.Options.StallTimeout);
            await FlushAsync(flush.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await stop.CancelAsync().ConfigureAwait(false);
        foreach (var q in queues) q.Writer.TryComplete();
        batcher.FailAll(new ObjectDisposedException(nameof(BraidProducer)));
        await Task.WhenAll([pump, .. senders]).ConfigureAwait(false);
        stop.Dispose();
        wake.Dispose();
    }
}
