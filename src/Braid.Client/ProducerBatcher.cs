using System.Diagnostics.CodeAnalysis;
using Braid.Data;
using Braid.Protocol.V1;

namespace Braid.Client;

/// <summary>
/// The batching rule of a producer on one raw stream (issue 13), without sockets or clocks, so
/// that the client and the simulator run the same code; <c>ProduceAsync</c> drives it. A record
/// goes to the partition its key hashes to (FNV-1a 64 of the key bytes, modulo the partition
/// count: stable across processes and versions), to the next partition round robin when its key
/// is empty, or to the partition the caller names. Each partition has at most one open batch; it
/// is sealed when full (<see cref="ProducerOptions.BatchBytesMax"/>,
/// <see cref="ProducerOptions.BatchRecordsMax"/>), when its first record has waited
/// <see cref="ProducerOptions.Linger"/>, or on <see cref="Flush"/>, and
/// <see cref="TakeReady"/> hands out sealed batches in the order they were opened, so records
/// keep their order within a partition. Every record is held, and counted against
/// <see cref="ProducerOptions.BufferBytesMax"/>, until its batch is acknowledged or failed;
/// then its handle completes, exactly once.
/// </summary>
/// <remarks>
/// Time comes in as a value: <c>now</c>, time since any fixed origin (a driver passes
/// <c>TimeProvider.GetElapsedTime(start)</c>, the simulator its own clock). Thread-safe: callers
/// add from any thread while one sender takes and answers batches. Handles complete with
/// <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/>, never inside the lock.
/// Waiting for room is not first-come first-served: after a release, whichever waiter adds first wins.
/// </remarks>
internal sealed class ProducerBatcher
{
    private const ulong FnvOffsetBasis = 14695981039346656037;
    private const ulong FnvPrime = 1099511628211;

    private readonly Lock gate = new();
    private readonly Slot[] slots;
    private readonly HashSet<ProducerBatch> taken = [];
    private long bufferedBytes;
    private int bufferedRecords;
    private int nextRoundRobin;
    private TaskCompletionSource? roomFreed;

    /// <summary>The batches of one partition: sealed ones in order, then the open one.</summary>
    private sealed class Slot
    {
        public Queue<ProducerBatch> Sealed { get; } = new();
        public ProducerBatch? Open { get; set; }
    }

    /// <summary>A batcher for a stream of <paramref name="partitions"/> partitions; validates
    /// <paramref name="options"/>.</summary>
    public ProducerBatcher(int partitions, ProducerOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitions);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        slots = new Slot[partitions];
        for (int p = 0; p < partitions; p++) slots[p] = new Slot();
    }

    /// <summary>Partitions of the stream.</summary>
    public int Partitions => slots.Length;

    /// <summary>The limits this batcher keeps.</summary>
    public ProducerOptions Options { get; }

    /// <summary>Bytes of records held (open, sealed or sent), not yet acknowledged or failed.</summary>
    public long BufferedBytes
    {
        get { lock (gate) return bufferedBytes; }
    }

    /// <summary>Records held, not yet acknowledged or failed.</summary>
    public int BufferedRecords
    {
        get { lock (gate) return bufferedRecords; }
    }

    /// <summary>FNV-1a, 64 bits, of <paramref name="bytes"/>: the key hash, fixed for good
    /// (producers of any version and language must agree on where a key goes).</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> bytes)
    {
        ulong hash = FnvOffsetBasis;
        foreach (byte b in bytes) hash = (hash ^ b) * FnvPrime;
        return hash;
    }

    /// <summary>The partition a non-empty <paramref name="key"/> goes to among <paramref name="partitions"/>.</summary>
    public static int KeyPartition(ReadOnlySpan<byte> key, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitions);
        return (int)(Fnv1a64(key) % (ulong)partitions);
    }

    /// <summary>
    /// Adds <paramref name="record"/> to the partition of its key (round robin when the key is
    /// empty). False, and no record taken, when the buffer is full: await
    /// <see cref="WaitForRoomAsync"/> and try again. Throws <see cref="ArgumentException"/> for a
    /// record beyond a <see cref="RawBatchCodec"/> limit.
    /// </summary>
    /// <param name="record">The record; the batcher keeps it until its batch is answered (do not change it).</param>
    /// <param name="now">The current time since the caller's origin.</param>
    /// <param name="ack">Completes with the record's position once its batch is acknowledged, or
    /// faults with the batch's failure.</param>
    public bool TryAdd(RawRecord record, TimeSpan now, [NotNullWhen(true)] out Task<RecordPosition>? ack) =>
        TryAdd(record, partition: null, now, out ack);

    /// <summary>As <see cref="TryAdd(RawRecord, TimeSpan, out Task{RecordPosition}?)"/>, to the
    /// partition the caller chose, whatever the key.</summary>
    public bool TryAdd(RawRecord record, int partition, TimeSpan now, [NotNullWhen(true)] out Task<RecordPosition>? ack)
    {
        if ((uint)partition >= (uint)slots.Length)
            throw new ArgumentOutOfRangeException(nameof(partition), partition, $"the stream has {slots.Length} partitions");
        return TryAdd(record, (int?)partition, now, out ack);
    }

    private bool TryAdd(RawRecord record, int? partition, TimeSpan now, [NotNullWhen(true)] out Task<RecordPosition>? ack)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (RawBatchCodec.Validate(record, 0) is { } error)
            throw new ArgumentException(error.Replace("record 0", "the record", StringComparison.Ordinal), nameof(record));
        int bytes = RawBatchCodec.RecordBytesMax(record);
        bool roundRobin = partition is null && record.Key.IsEmpty;
        int p = partition ?? (roundRobin ? -1 : KeyPartition(record.Key.Span, slots.Length));
        var handle = new TaskCompletionSource<RecordPosition>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (!HasRoom(bytes))
            {
                ack = null;
                return false;
            }
            if (roundRobin)
            {
                p = nextRoundRobin;
                nextRoundRobin = (nextRoundRobin + 1) % slots.Length;
            }
            var slot = slots[p];
            if (slot.Open is { } full && full.Bytes + bytes > Options.BatchBytesMax) Seal(slot);
            var open = slot.Open ??= new ProducerBatch(this, p, now);
            open.Add(record, bytes, handle);
            bufferedBytes += bytes;
            bufferedRecords++;
            if (open.Count >= Options.BatchRecordsMax || open.Bytes >= Options.BatchBytesMax) Seal(slot);
        }
        ack = handle.Task;
        return true;
    }

    /// <summary>
    /// Completes when a record of <paramref name="record"/>'s size may fit: at once if it does
    /// now, else at the next release of memory (an acknowledgement or failure). Then call
    /// <see cref="TryAdd(RawRecord, TimeSpan, out Task{RecordPosition}?)"/> again: another caller may have taken the room.
    /// </summary>
    public Task WaitForRoomAsync(RawRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        int bytes = RawBatchCodec.RecordBytesMax(record);
        lock (gate)
        {
            if (HasRoom(bytes)) return Task.CompletedTask;
            roomFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return roomFreed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The batches ready at <paramref name="now"/>, oldest first within a partition: every sealed
    /// one, and every open one whose first record has waited <see cref="ProducerOptions.Linger"/>.
    /// The caller sends them and answers each with <see cref="Acknowledge"/> or <see cref="Fail"/>.
    /// </summary>
    public IReadOnlyList<ProducerBatch> TakeReady(TimeSpan now)
    {
        var ready = new List<ProducerBatch>();
        lock (gate)
        {
            foreach (var slot in slots)
            {
                if (slot.Open is { } open && now - open.CreatedAt >= Options.Linger) Seal(slot);
                while (slot.Sealed.TryDequeue(out var batch))
                {
                    batch.State = BatchState.Sent;
                    taken.Add(batch);
                    ready.Add(batch);
                }
            }
        }
        return ready;
    }

    /// <summary>
    /// When <see cref="TakeReady"/> will next return a batch: a time not after now when one is
    /// ready already (a full or flushed batch), else when the oldest open batch's linger ends;
    /// null when no record waits to be sent. A driver sleeps until then.
    /// </summary>
    public TimeSpan? NextReadyAt
    {
        get
        {
            lock (gate)
            {
                TimeSpan? next = null;
                foreach (var slot in slots)
                {
                    TimeSpan at;
                    if (slot.Sealed.TryPeek(out var first)) at = first.CreatedAt;
                    else if (slot.Open is { } open) at = open.CreatedAt + Options.Linger;
                    else continue;
                    if (next is null || at < next) next = at;
                }
                return next;
            }
        }
    }

    /// <summary>Seals every open batch, so the next <see cref="TakeReady"/> returns every record
    /// added so far, whatever its age.</summary>
    public void Flush()
    {
        lock (gate)
        {
            foreach (var slot in slots) Seal(slot);
        }
    }

    /// <summary>
    /// <paramref name="batch"/> is stored: its record <c>i</c> is at <paramref name="firstPosition"/>
    /// with <c>i</c> added to the ordinal. Completes its handles and releases its memory. False
    /// when the batch was answered before (a second answer for a resent batch changes nothing).
    /// </summary>
    public bool Acknowledge(ProducerBatch batch, RecordPosition firstPosition)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(firstPosition);
        if (firstPosition.Partition != (uint)batch.Partition)
            throw new ArgumentException(
                $"the batch is of partition {batch.Partition}, the position of {firstPosition.Partition}", nameof(firstPosition));
        if ((ulong)firstPosition.Ordinal + (ulong)batch.Count > uint.MaxValue + 1UL)
            throw new ArgumentException($"ordinal {firstPosition.Ordinal} leaves no room for {batch.Count} records", nameof(firstPosition));
        if (!Complete(batch)) return false;
        for (int i = 0; i < batch.Count; i++)
        {
            batch.Handles[i].SetResult(new RecordPosition // throws if a handle were completed twice
            {
                Partition = firstPosition.Partition,
                Index = firstPosition.Index,
                Ordinal = firstPosition.Ordinal + (uint)i,
            });
        }
        return true;
    }

    /// <summary>
    /// <paramref name="batch"/> will not be stored (the stream refused it, or the producer gave
    /// up): its handles fault with <paramref name="error"/> and its memory is released. False when
    /// the batch was answered before.
    /// </summary>
    public bool Fail(ProducerBatch batch, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (!Complete(batch)) return false;
        foreach (var handle in batch.Handles) handle.SetException(error);
        return true;
    }

    /// <summary>Fails every batch held, open, sealed or sent (the producer is closing or broken);
    /// returns how many records it failed. Later adds are still taken.</summary>
    public int FailAll(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        List<ProducerBatch> all;
        lock (gate)
        {
            all = [.. taken];
            foreach (var slot in slots)
            {
                Seal(slot);
                while (slot.Sealed.TryDequeue(out var batch))
                {
                    batch.State = BatchState.Sent; // handed to this call, which answers it
                    all.Add(batch);
                }
            }
        }
        int records = 0;
        foreach (var batch in all)
        {
            if (Fail(batch, error)) records += batch.Count;
        }
        return records;
    }

    /// <summary>Marks <paramref name="batch"/> answered and releases its memory; false if it was already.</summary>
    private bool Complete(ProducerBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Owner != this) throw new ArgumentException("the batch is not of this batcher", nameof(batch));
        TaskCompletionSource? freed;
        lock (gate)
        {
            if (batch.State == BatchState.Answered) return false;
            if (batch.State != BatchState.Sent)
                throw new InvalidOperationException("only a batch TakeReady handed out is answered");
            batch.State = BatchState.Answered;
            taken.Remove(batch);
            bufferedBytes -= batch.Bytes;
            bufferedRecords -= batch.Count;
            if (bufferedBytes < 0 || bufferedRecords < 0)
                throw new InvalidOperationException($"the buffer went below zero ({bufferedBytes} bytes, {bufferedRecords} records)");
            freed = roomFreed;
            roomFreed = null;
        }
        freed?.TrySetResult();
        return true;
    }

    private bool HasRoom(int bytes) => bufferedBytes == 0 || bufferedBytes + bytes <= Options.BufferBytesMax;

    private static void Seal(Slot slot)
    {
        if (slot.Open is not { } open) return;
        open.State = BatchState.Sealed;
        slot.Sealed.Enqueue(open);
        slot.Open = null;
    }
}

/// <summary>Where a <see cref="ProducerBatch"/> is in its life.</summary>
internal enum BatchState
{
    /// <summary>Taking records.</summary>
    Open,

    /// <summary>Full, lingered or flushed: waiting for <see cref="ProducerBatcher.TakeReady"/>.</summary>
    Sealed,

    /// <summary>Handed to the sender, waiting for its answer.</summary>
    Sent,

    /// <summary>Acknowledged or failed: its handles are complete and its memory released.</summary>
    Answered,
}

/// <summary>
/// Records of one partition that go out together as one raw batch
/// (<see cref="RawBatchCodec.Encode"/>) and are answered together.
/// </summary>
internal sealed class ProducerBatch
{
    private readonly List<RawRecord> records = [];

    internal ProducerBatch(ProducerBatcher owner, int partition, TimeSpan createdAt)
    {
        Owner = owner;
        Partition = partition;
        CreatedAt = createdAt;
    }

    /// <summary>The partition every record of the batch goes to.</summary>
    public int Partition { get; }

    /// <summary>When its first record was added (the caller's time); its linger counts from here.</summary>
    public TimeSpan CreatedAt { get; }

    /// <summary>The records, in the order they were added.</summary>
    public IReadOnlyList<RawRecord> Records => records;

    /// <summary>Number of records.</summary>
    public int Count => records.Count;

    /// <summary>The records' <see cref="RawBatchCodec.RecordBytesMax"/> summed: the batch encodes
    /// to at most this plus 24 bytes of batch header.</summary>
    public long Bytes { get; private set; }

    /// <summary>The batch's encoding, the payload of one append.</summary>
    public byte[] Encode() => RawBatchCodec.Encode(records);

    internal ProducerBatcher Owner { get; }

    internal BatchState State { get; set; }

    internal List<TaskCompletionSource<RecordPosition>> Handles { get; } = [];

    internal void Add(RawRecord record, int bytes, TaskCompletionSource<RecordPosition> handle)
    {
        records.Add(record);
        Handles.Add(handle);
        Bytes += bytes;
    }
}
