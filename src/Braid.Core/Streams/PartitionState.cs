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
    private const byte SnapshotVersion = 1;
    private readonly Dictionary<ulong, ulong> lastSequence = [];

    public ulong AppliedIndex { get; private set; }
    public long RecordCount { get; private set; }
    public long DuplicateCount { get; private set; }

    /// <summary>Log indexes of stored records, in order (a record's position in the partition).</summary>
    public List<ulong> RecordIndexes { get; } = [];

    public ulong LastSequenceOf(ulong producer) => lastSequence.GetValueOrDefault(producer);

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
        var bytes = new byte[1 + 8 * 4 + 16 * lastSequence.Count];
        bytes[0] = SnapshotVersion;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), AppliedIndex);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), RecordCount);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(17), DuplicateCount);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(25), lastSequence.Count);
        var at = 33;
        foreach (var (producer, sequence) in lastSequence.OrderBy(p => p.Key))
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), producer);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 8), sequence);
            at += 16;
        }
        return bytes;
    }

    /// <summary>Why <paramref name="data"/> is not a snapshot of this state at
    /// <paramref name="index"/>, or null: checked before an INSTALL_SNAPSHOT replaces anything,
    /// so a malformed one is refused instead of being saved and failing every start after.</summary>
    public static string? ValidateSnapshot(ulong index, ReadOnlyMemory<byte> snapshot)
    {
        var data = snapshot.Span;
        if (data.Length < 33 || data[0] != SnapshotVersion) return $"partition snapshot at {index}: bad header ({data.Length} bytes)";
        var count = BinaryPrimitives.ReadInt64LittleEndian(data[25..]);
        if (count < 0 || count > (data.Length - 33) / 16 || data.Length != 33 + 16 * count) return $"partition snapshot at {index}: {data.Length} bytes for {count} producers";
        var applied = BinaryPrimitives.ReadUInt64LittleEndian(data[1..]);
        if (applied != index) return $"partition snapshot says index {applied}, Raft says {index}";
        if (BinaryPrimitives.ReadInt64LittleEndian(data[9..]) < 0 || BinaryPrimitives.ReadInt64LittleEndian(data[17..]) < 0) return $"partition snapshot at {index}: negative counters";
        ulong previous = 0;
        for (var i = 0; i < count; i++)
        {
            var producer = BinaryPrimitives.ReadUInt64LittleEndian(data[(33 + 16 * i)..]);
            if (i > 0 && producer <= previous) return $"partition snapshot at {index}: producers out of order at {i}";
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
        var count = BinaryPrimitives.ReadInt64LittleEndian(data[25..]);
        var applied = BinaryPrimitives.ReadUInt64LittleEndian(data[1..]);
        lastSequence.Clear();
        for (var i = 0; i < count; i++)
        {
            var at = 33 + 16 * i;
            lastSequence[BinaryPrimitives.ReadUInt64LittleEndian(data[at..])] = BinaryPrimitives.ReadUInt64LittleEndian(data[(at + 8)..]);
        }
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

    public ApplyOutcome Apply(CommittedEntry entry)
    {
        Invariant.Check(entry.Index == AppliedIndex + 1, $"apply out of order: {entry.Index} after {AppliedIndex}");
        AppliedIndex = entry.Index;
        if (entry.IsNoop) return ApplyOutcome.Noop;
        var record = RecordEntry.Decode(entry.Data);
        var last = lastSequence.GetValueOrDefault(record.Producer);
        if (record.Sequence <= last)
        {
            DuplicateCount++;
            return ApplyOutcome.Duplicate;
        }
        if (record.Sequence != last + 1) return ApplyOutcome.OutOfOrder;
        lastSequence[record.Producer] = record.Sequence;
        RecordIndexes.Add(entry.Index);
        RecordCount++;
        return ApplyOutcome.Stored;
    }
}
