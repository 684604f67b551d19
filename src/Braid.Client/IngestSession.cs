namespace Braid.Client;

/// <summary>
/// Exactly-once ingest of a numbered sequence of record batches. Batch number b goes to
/// partition b mod P with sequence b / P + 1, a fixed rule: a load restarted from a checkpoint
/// (<see cref="ContiguousAckedBatches"/>) resends the same batches under the same (producer,
/// sequence) keys, and the cluster stores none of them twice.
/// </summary>
public sealed class IngestSession : IAsyncDisposable
{
    private readonly PartitionSender[] senders;
    private readonly SortedSet<long> ackedAbove = [];
    private readonly object gate = new();
    private readonly CancellationTokenSource stop;
    private long watermark;

    /// <param name="firstBatch">The first batch number this session will send (0, or a checkpoint to resume from).</param>
    public IngestSession(BraidClient client, ulong producer, long firstBatch = 0, CancellationToken ct = default)
    {
        if (producer == 0) throw new ArgumentOutOfRangeException(nameof(producer), "producer ids start at 1");
        Client = client;
        Producer = producer;
        watermark = firstBatch;
        stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        senders = Enumerable.Range(0, client.Partitions).Select(p => new PartitionSender(client, (uint)p, producer, OnAcked, stop.Token)).ToArray();
    }

    public BraidClient Client { get; }
    public ulong Producer { get; }

    /// <summary>Every batch below this number is acknowledged (committed): a safe checkpoint.</summary>
    public long ContiguousAckedBatches
    {
        get { lock (gate) return watermark; }
    }

    public static (uint Partition, ulong Sequence) KeyOf(long batch, int partitions) =>
        ((uint)(batch % partitions), (ulong)(batch / partitions) + 1);

    /// <summary>Queues batch <paramref name="batch"/>; waits while its partition has a full window (backpressure).</summary>
    public async ValueTask SendAsync(long batch, byte[] payload, int recordCount, CancellationToken ct = default)
    {
        var (partition, sequence) = KeyOf(batch, senders.Length);
        await senders[partition].EnqueueAsync(new PendingBatch(batch, sequence, payload, recordCount), ct).ConfigureAwait(false);
    }

    /// <summary>Waits until every queued batch is acknowledged.</summary>
    public async Task CompleteAsync(CancellationToken ct = default)
    {
        foreach (var s in senders) s.Complete();
        await Task.WhenAll(senders.Select(s => s.Completion)).WaitAsync(ct).ConfigureAwait(false);
    }

    private void OnAcked(long batch)
    {
        lock (gate)
        {
            ackedAbove.Add(batch);
            while (ackedAbove.Count > 0 && ackedAbove.Min == watermark)
            {
                ackedAbove.Remove(watermark);
                watermark++;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        foreach (var s in senders)
        {
            // Disposal must stop every sender; their failures were reported by CompleteAsync.
            try { await s.Completion.ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or BraidException or Grpc.Core.RpcException) { }
        }
        stop.Dispose();
    }
}

internal sealed record PendingBatch(long Batch, ulong Sequence, byte[] Payload, int Records);
