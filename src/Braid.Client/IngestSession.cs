using System.Runtime.ExceptionServices;

namespace Braid.Client;

/// <summary>
/// Exactly-once ingest of a numbered sequence of record batches. Batch number b goes to
/// partition b mod P with sequence b / P + 1, a fixed rule: a load restarted from a checkpoint
/// (<see cref="ContiguousAckedBatches"/>) resends the same batches under the same (producer,
/// sequence) keys, and the cluster stores none of them twice.
/// </summary>
/// <remarks>
/// <para>No head-of-line blocking (issue 10, item 5b). Each partition sends on its own, with a
/// window of <see cref="BraidClientOptions.InflightBatchesPerPartition"/> unacknowledged batches
/// and a queue behind it. <see cref="SendAsync"/> waits only while the session holds
/// <see cref="MaxBufferedBytes"/> of unacknowledged payload in all partitions together, never
/// because one partition's window is full. So when some partitions have no leader or no
/// majority (a network split between sites), their batches pile up in their queues while every
/// other partition keeps flowing, and the stuck ones catch up, in order, once they heal. The
/// alternative, waiting on the partition's own window, stops every partition behind the first
/// stuck one, because the caller (a reader of an ordered input) cannot hand out later batches.</para>
/// <para>The trade-off: memory is bounded, not the length of a split. A stuck partition gets
/// about 1/P of the batches, so it fills the budget after about P × budget bytes of input; after
/// that <see cref="SendAsync"/> waits again (every partition then idles) until it recovers.
/// <see cref="WaitingForRoom"/> and <see cref="PartitionStatus"/> make that visible. A partition
/// that holds batches and gets no acknowledgement for <see cref="BraidClientOptions.StallTimeout"/>
/// still fails the session, as before.</para>
/// <para>The checkpoint stays safe: batches above <see cref="ContiguousAckedBatches"/> may be
/// acknowledged out of order, and a load resumed from it resends them under the same keys, which
/// the cluster answers as duplicates.</para>
/// <para>One caller at a time: batch numbers go up from <c>firstBatch</c>.</para>
/// </remarks>
public sealed class IngestSession : IAsyncDisposable
{
    private readonly PartitionSender[] senders;
    private readonly AckWatermark acked;
    private readonly object gate = new();
    private readonly CancellationTokenSource stop;
    private readonly Action<long>? onAcked;
    private long bufferedBytes;
    private long lastBatch = -1;
    private bool completing;
    private bool waitingForRoom;
    private TaskCompletionSource? roomFreed;
    private ExceptionDispatchInfo? failure;

    /// <param name="firstBatch">The first batch number this session will send (0, or a checkpoint to resume from).</param>
    /// <param name="onAcked">Called once per batch number when that batch is acknowledged (committed), on a
    /// sender's thread, in no particular order across partitions; it must not block.</param>
    /// <param name="maxBufferedBytes">This session's budget; <see cref="BraidClientOptions.MaxBufferedBytes"/> if null.</param>
    public IngestSession(BraidClient client, ulong producer, long firstBatch = 0, CancellationToken ct = default, Action<long>? onAcked = null,
        long? maxBufferedBytes = null)
    {
        if (producer == 0) throw new ArgumentOutOfRangeException(nameof(producer), "producer ids start at 1");
        ArgumentOutOfRangeException.ThrowIfNegative(firstBatch);
        MaxBufferedBytes = maxBufferedBytes ?? client.Options.MaxBufferedBytes;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxBufferedBytes, nameof(maxBufferedBytes));
        Client = client;
        Producer = producer;
        this.onAcked = onAcked;
        acked = new AckWatermark(firstBatch);
        lastBatch = firstBatch - 1;
        stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        senders = Enumerable.Range(0, client.Partitions).Select(p => new PartitionSender(client, (uint)p, producer, OnAcked, stop.Token)).ToArray();
        foreach (var s in senders) s.Completion.ContinueWith(OnSenderEnded, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public BraidClient Client { get; }
    public ulong Producer { get; }

    /// <summary>The most unacknowledged payload (bytes, queued or in flight, all partitions) this
    /// session holds before <see cref="SendAsync"/> waits. A batch larger than this is still taken
    /// when nothing else is held.</summary>
    public long MaxBufferedBytes { get; }

    /// <summary>Every batch below this number is acknowledged (committed): a safe checkpoint.</summary>
    public long ContiguousAckedBatches
    {
        get { lock (gate) return acked.Watermark; }
    }

    /// <summary>Unacknowledged payload bytes held now, in all partitions.</summary>
    public long BufferedBytes
    {
        get { lock (gate) return bufferedBytes; }
    }

    /// <summary>A <see cref="SendAsync"/> is waiting because the budget is full (the caller is blocked).</summary>
    public bool WaitingForRoom
    {
        get { lock (gate) return waitingForRoom; }
    }

    /// <summary>Per partition: batches and bytes held, and how long it has held them without an acknowledgement.</summary>
    public IReadOnlyList<IngestPartitionStatus> PartitionStatus() => senders.Select(s => s.Status()).ToList();

    public static (uint Partition, ulong Sequence) KeyOf(long batch, int partitions) =>
        ((uint)(batch % partitions), (ulong)(batch / partitions) + 1);

    /// <summary>Hands batch <paramref name="batch"/> to its partition. Waits only while the session
    /// holds <see cref="MaxBufferedBytes"/> (backpressure); throws at once if a partition has failed.</summary>
    public async ValueTask SendAsync(long batch, byte[] payload, int recordCount, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        lock (gate)
        {
            if (completing) throw new InvalidOperationException("CompleteAsync was called: the session takes no more batches");
            if (batch <= lastBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch numbers go up: {lastBatch} came before");
        }
        await ReserveAsync(payload.Length, ct).ConfigureAwait(false);
        var (partition, sequence) = KeyOf(batch, senders.Length);
        lock (gate) lastBatch = batch;
        senders[partition].Enqueue(new PendingBatch(batch, sequence, payload, recordCount));
    }

    /// <summary>Waits until every queued batch is acknowledged.</summary>
    public async Task CompleteAsync(CancellationToken ct = default)
    {
        lock (gate) completing = true;
        foreach (var s in senders) s.Complete();
        await Task.WhenAll(senders.Select(s => s.Completion)).WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Counts <paramref name="bytes"/> into the budget, waiting while it is full; the first
    /// batch into an empty session always fits, so an oversized batch cannot wedge it.</summary>
    private async ValueTask ReserveAsync(long bytes, CancellationToken ct)
    {
        while (true)
        {
            Task freed;
            lock (gate)
            {
                failure?.Throw();
                if (bufferedBytes == 0 || bufferedBytes + bytes <= MaxBufferedBytes)
                {
                    bufferedBytes += bytes;
                    waitingForRoom = false;
                    return;
                }
                roomFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                freed = roomFreed.Task;
                waitingForRoom = true;
            }
            try
            {
                await freed.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (gate) waitingForRoom = false;
                throw;
            }
        }
    }

    private void OnAcked(PendingBatch batch)
    {
        lock (gate)
        {
            if (!acked.Acknowledge(batch.Batch))
                throw new InvalidOperationException($"batch {batch.Batch} acknowledged twice or below the watermark {acked.Watermark}");
            bufferedBytes -= batch.Payload.Length;
            if (bufferedBytes < 0) throw new InvalidOperationException($"{bufferedBytes} bytes buffered");
            roomFreed?.TrySetResult();
            roomFreed = null;
        }
        onAcked?.Invoke(batch.Batch);
    }

    /// <summary>A sender that failed (or was stopped) fails the session: a waiting or later
    /// <see cref="SendAsync"/> throws its exception instead of filling the budget and waiting for ever.</summary>
    private void OnSenderEnded(Task completion)
    {
        if (completion.IsCompletedSuccessfully) return;
        Fail(completion.Exception?.InnerException ?? new OperationCanceledException("the ingest session was stopped"));
    }

    private void Fail(Exception e)
    {
        lock (gate)
        {
            failure ??= ExceptionDispatchInfo.Capture(e);
            roomFreed?.TrySetResult();
            roomFreed = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Fail(new ObjectDisposedException(nameof(IngestSession)));
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

/// <summary>One partition of an <see cref="IngestSession"/> at a moment.</summary>
/// <param name="Batches">Batches held: sent and unacknowledged, or queued behind them.</param>
/// <param name="Bytes">Their payload bytes.</param>
/// <param name="WaitingFor">How long it has held batches since its last acknowledgement (or since
/// batches came after an idle spell); zero when it holds none. Seconds here mean the partition is
/// stuck (no leader or no majority reachable).</param>
/// <param name="LastProblem">Why the last attempt to send failed (e.g. a leader's full disk), or null after progress.</param>
public sealed record IngestPartitionStatus(uint Partition, int Batches, long Bytes, TimeSpan WaitingFor, string? LastProblem = null);

internal sealed record PendingBatch(long Batch, ulong Sequence, byte[] Payload, int Records);
