using System.Buffers.Binary;
using Braid.Core.Log;
using Braid.Core.Raft;

namespace Braid.Core.Streams;

/// <summary>What applying one committed entry did.</summary>
public enum ApplyOutcome
{
    Noop,
    Stored,
    /// <summary>The (producer, sequence) was stored before: a retry, acknowledged but not stored again.</summary>
    Duplicate,

    /// <summary>The sequence skips ahead of the producer's next one: not stored; the producer must
    /// resend from its next sequence (Kafka's OutOfOrderSequence). Storing it would turn a later
    /// retry of the missing one into a "duplicate" and lose it.</summary>
    OutOfOrder,

    /// <summary>A control entry (producer 0): a consumer's committed position, or a malformed
    /// one that changed nothing. Not a record.</summary>
    Control,
}

/// <summary>
/// The replicated state of one partition, rebuilt by applying the committed log in order on every
/// replica: the dedup table (last sequence per producer) and the positions of stored records.
/// Because the dedup table is derived from the log, it survives failover and restarts exactly as
/// the log does: a retry after any failure is recognised everywhere (exactly-once ingest, like
/// Kafka's idempotent producer: sequences start at 1 and go up by one, enforced by the replicated state machine itself).
/// </summary>
public sealed class PartitionState
{
    /// <summary>Version 2 adds each producer's last stored index (for expiry), version 3 the
    /// consumers' committed positions after the producers; versions 1 and 2 are still read.</summary>
    private const byte SnapshotVersion = 3;
    private const int HeaderBytes = 33;

    /// <summary>What <see cref="ProducerIdleEntriesMax"/> is unless set: a producer silent for a
    /// million entries of its partition is forgotten (the table holds at most that many producers).</summary>
    public const ulong DefaultProducerIdleEntries = 1_000_000;

    private readonly Dictionary<ulong, (ulong Sequence, ulong Index)> producers = [];
    // (last stored index, producer) in index order, one per store; stale ones (the producer stored
    // again since) are skipped when they come up. Bounded by the idle window.
    private readonly Queue<(ulong Index, ulong Producer)> expiry = new();

    /// <param name="producerIdleEntriesMax">A producer whose last stored batch is this many
    /// entries behind the entry being applied is forgotten (Kafka expires idle producer ids the
    /// same way, by time; the core has no clock, so the log index is the measure). Part of the
    /// replicated state machine: every replica of a partition must use the same value.</param>
    public PartitionState(ulong producerIdleEntriesMax = DefaultProducerIdleEntries)
    {
        ArgumentOutOfRangeException.ThrowIfZero(producerIdleEntriesMax);
        ProducerIdleEntriesMax = producerIdleEntriesMax;
    }

    public ulong ProducerIdleEntriesMax { get; }
    public ulong AppliedIndex { get; private set; }
    public long RecordCount { get; private set; }
    public long DuplicateCount { get; private set; }

    /// <summary>Producers in the dedup table now.</summary>
    public int ProducerCount => producers.Count;

    /// <summary>Producers forgotten for being idle since this state was built or restored.</summary>
    public long ProducersExpired { get; private set; }

    /// <summary>Log indexes of stored records, in order (a record's position in the partition).</summary>
    public List<ulong> RecordIndexes { get; } = [];

    public ulong LastSequenceOf(ulong producer) => producers.GetValueOrDefault(producer).Sequence;

    private readonly SortedDictionary<string, (ulong NextIndex, uint Skip)> consumers = new(StringComparer.Ordinal);

    /// <summary>Durable consumers' committed positions (issue 13, item 4), by name.</summary>
    public IReadOnlyDictionary<string, (ulong NextIndex, uint Skip)> Consumers => consumers;

    /// <summary>The log index of the producer's last stored batch (0: unknown or expired).</summary>
    public ulong LastIndexOf(ulong producer) => producers.GetValueOrDefault(producer).Index;

    /// <summary>Records at or below this log index were removed by retention (the last snapshot).</summary>
    public ulong RetainedAfter { get; private set; }

    /// <summary>
    /// The state to snapshot after <see cref="AppliedIndex"/>: the dedup table and counters, not
    /// the records (retention removes the records the snapshot covers, like Kafka's producer
    /// state snapshots that outlive deleted segments). Producers in ascending order, so equal
    /// states encode to equal bytes.
    /// </summary>
    public byte[] Snapshot()
    {
        var names = consumers.Keys.Select(System.Text.Encoding.UTF8.GetBytes).ToList();
        var bytes = new byte[HeaderBytes + 24 * producers.Count + 4 + names.Sum(n => 2 + n.Length + 12)];
        bytes[0] = SnapshotVersion;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), AppliedIndex);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), RecordCount);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(17), DuplicateCount);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(25), producers.Count);
        var at = HeaderBytes;
        foreach (var (producer, last) in producers.OrderBy(p => p.Key))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), producer);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 8), last.Sequence);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 16), last.Index);
            at += 24;
        }
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), consumers.Count);
        at += 4;
        var i = 0;
        foreach (var (_, position) in consumers)
        {
            var name = names[i++];
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), (ushort)name.Length);
            name.CopyTo(bytes.AsSpan(at + 2));
            at += 2 + name.Length;
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), position.NextIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at + 8), position.Skip);
            at += 12;
        }
        return bytes;
    }

    /// <summary>A version-3 snapshot's consumers, read from <paramref name="data"/> at
    /// <paramref name="at"/>; null (with why) when that part is malformed.</summary>
    private static List<(string Name, ulong NextIndex, uint Skip)>? ReadConsumers(ReadOnlySpan<byte> data, int at, out string? problem)
    {
        problem = null;
        var result = new List<(string, ulong, uint)>();
        if (data.Length - at < 4) { problem = "no consumer count"; return null; }
        var count = BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
        at += 4;
        if (count < 0 || count > ConsumerCommit.ConsumersMax) { problem = $"{count} consumers"; return null; }
        string? previous = null;
        for (var i = 0; i < count; i++)
        {
            if (data.Length - at < 2) { problem = $"consumer {i} cut short"; return null; }
            var length = BinaryPrimitives.ReadUInt16LittleEndian(data[at..]);
            if (length == 0 || length > ConsumerCommit.NameBytesMax || data.Length - at < 2 + length + 12) { problem = $"consumer {i} cut short"; return null; }
            string name;
            try { name = new System.Text.UTF8Encoding(false, true).GetString(data.Slice(at + 2, length)); }
            catch (System.Text.DecoderFallbackException) { problem = $"consumer {i} is not UTF-8"; return null; }
            if (previous is not null && string.CompareOrdinal(name, previous) <= 0) { problem = $"consumers out of order at {i}"; return null; }
            at += 2 + length;
            result.Add((name, BinaryPrimitives.ReadUInt64LittleEndian(data[at..]), BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 8)..])));
            at += 12;
            previous = name;
        }
        if (at != data.Length) { problem = $"{data.Length - at} bytes after the consumers"; return null; }
        return result;
    }

    private static int ProducerBytes(byte version) => version == 1 ? 16 : 24;

    /// <summary>Why <paramref name="snapshot"/> is not a snapshot of this state at
    /// <paramref name="index"/>, or null: checked before an INSTALL_SNAPSHOT replaces anything,
    /// so a malformed one is refused instead of being saved and failing every start after.</summary>
    public static string? ValidateSnapshot(ulong index, ReadOnlyMemory<byte> snapshot)
    {
        var data = snapshot.Span;
        if (data.Length < HeaderBytes || data[0] is not (1 or 2 or SnapshotVersion)) return $"partition snapshot at {index}: bad header ({data.Length} bytes)";
        var size = ProducerBytes(data[0]);
        var count = BinaryPrimitives.ReadInt64LittleEndian(data[25..]);
        if (count < 0 || count > (data.Length - HeaderBytes) / size) return $"partition snapshot at {index}: {data.Length} bytes for {count} producers";
        if (data[0] < 3 && data.Length != HeaderBytes + size * count) return $"partition snapshot at {index}: {data.Length} bytes for {count} producers";
        if (data[0] >= 3 && ReadConsumers(data, HeaderBytes + (int)(size * count), out var bad) is null) return $"partition snapshot at {index}: {bad}";
        var applied = BinaryPrimitives.ReadUInt64LittleEndian(data[1..]);
        if (applied != index) return $"partition snapshot says index {applied}, Raft says {index}";
        if (BinaryPrimitives.ReadInt64LittleEndian(data[9..]) < 0 || BinaryPrimitives.ReadInt64LittleEndian(data[17..]) < 0) return $"partition snapshot at {index}: negative counters";
        ulong previous = 0;
        for (var i = 0; i < count; i++)
        {
            var at = HeaderBytes + size * i;
            var producer = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
            if (i > 0 && producer <= previous) return $"partition snapshot at {index}: producers out of order at {i}";
            if (size == 24 && BinaryPrimitives.ReadUInt64LittleEndian(data[(at + 16)..]) > index) return $"partition snapshot at {index}: producer {producer} stored after it";
            previous = producer;
        }
        return null;
    }

    /// <summary>Replaces this state with <paramref name="snapshot"/>'s: what a replica holds
    /// after a restart from its own snapshot or after installing its leader's.</summary>
    public void Restore(StoredSnapshot snapshot)
    {
        var data = snapshot.Data.Span;
        var invalid = ValidateSnapshot(snapshot.Index, snapshot.Data);
        Invariant.Check(invalid is null, invalid ?? "");
        var size = ProducerBytes(data[0]);
        var count = BinaryPrimitives.ReadInt64LittleEndian(data[25..]);
        var applied = BinaryPrimitives.ReadUInt64LittleEndian(data[1..]);
        producers.Clear();
        expiry.Clear();
        var restored = new List<(ulong Index, ulong Producer)>();
        for (var i = 0; i < count; i++)
        {
            var at = HeaderBytes + size * i;
            var producer = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
            // A version-1 snapshot has no indexes: its producers count as stored at the snapshot.
            var index = size == 24 ? BinaryPrimitives.ReadUInt64LittleEndian(data[(at + 16)..]) : applied;
            producers[producer] = (BinaryPrimitives.ReadUInt64LittleEndian(data[(at + 8)..]), index);
            restored.Add((index, producer));
        }
        foreach (var e in restored.OrderBy(e => e.Index).ThenBy(e => e.Producer)) expiry.Enqueue(e);
        consumers.Clear();
        if (data[0] >= 3)
            foreach (var (name, next, skip) in ReadConsumers(data, HeaderBytes + (int)(size * count), out _)!) consumers[name] = (next, skip);
        AppliedIndex = applied;
        RecordCount = BinaryPrimitives.ReadInt64LittleEndian(data[9..]);
        DuplicateCount = BinaryPrimitives.ReadInt64LittleEndian(data[17..]);
        RecordIndexes.Clear();
        RetainedAfter = applied;
    }

    /// <summary>Forgets the positions of records at or below <paramref name="index"/> (after a
    /// compaction there): queries no longer see them on any replica.</summary>
    public void TrimThrough(ulong index)
    {
        Invariant.Check(index <= AppliedIndex, $"trim at {index} beyond the applied index {AppliedIndex}");
        var at = RecordIndexes.BinarySearch(index);
        RecordIndexes.RemoveRange(0, at < 0 ? ~at : at + 1);
        RetainedAfter = Math.Max(RetainedAfter, index);
    }

    /// <summary>The outcome applying a batch of <paramref name="producer"/> at
    /// <paramref name="sequence"/> would have now (the dedup rule, shared with the leader's early answer).</summary>
    public ApplyOutcome OutcomeOf(ulong producer, ulong sequence)
    {
        var last = LastSequenceOf(producer);
        return sequence <= last ? ApplyOutcome.Duplicate : sequence == last + 1 ? ApplyOutcome.Stored : ApplyOutcome.OutOfOrder;
    }

    public ApplyOutcome Apply(CommittedEntry entry)
    {
        Invariant.Check(entry.Index == AppliedIndex + 1, $"apply out of order: {entry.Index} after {AppliedIndex}");
        AppliedIndex = entry.Index;
        Expire(entry.Index);
        if (entry.IsNoop) return ApplyOutcome.Noop;
        var record = RecordEntry.Decode(entry.Data);
        if (record.Producer == ConsumerCommit.ControlProducer)
        {
            ApplyControl(record.Payload.Span);
            return ApplyOutcome.Control;
        }
        var outcome = OutcomeOf(record.Producer, record.Sequence);
        if (outcome == ApplyOutcome.Duplicate) DuplicateCount++;
        if (outcome != ApplyOutcome.Stored) return outcome;
        producers[record.Producer] = (record.Sequence, entry.Index);
        expiry.Enqueue((entry.Index, record.Producer));
        RecordIndexes.Add(entry.Index);
        RecordCount++;
        return ApplyOutcome.Stored;
    }

    /// <summary>A consumer's commit moves its position forward only (a late retry of an older
    /// commit never moves it back); a malformed one, or one consumer too many, changes nothing.</summary>
    private void ApplyControl(ReadOnlySpan<byte> payload)
    {
        if (!ConsumerCommit.TryDecode(payload, out var commit)) return;
        if (consumers.TryGetValue(commit.Consumer, out var at))
        {
            if (commit.NextIndex > at.NextIndex || commit.NextIndex == at.NextIndex && commit.Skip > at.Skip) consumers[commit.Consumer] = (commit.NextIndex, commit.Skip);
        }
        else if (consumers.Count < ConsumerCommit.ConsumersMax) consumers[commit.Consumer] = (commit.NextIndex, commit.Skip);
    }

    /// <summary>Forgets every producer whose last stored batch is <see cref="ProducerIdleEntriesMax"/>
    /// or more entries before <paramref name="index"/>.</summary>
    private void Expire(ulong index)
    {
        while (expiry.Count > 0 && index - expiry.Peek().Index >= ProducerIdleEntriesMax)
        {
            var (at, producer) = expiry.Dequeue();
            if (producers.TryGetValue(producer, out var last) && last.Index == at)
            {
                producers.Remove(producer);
                ProducersExpired++;
            }
        }
    }
}
