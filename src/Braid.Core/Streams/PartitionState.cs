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
    private readonly Dictionary<ulong, ulong> lastSequence = [];

    public ulong AppliedIndex { get; private set; }
    public long RecordCount { get; private set; }
    public long DuplicateCount { get; private set; }

    /// <summary>Log indexes of stored records, in order (a record's position in the partition).</summary>
    public List<ulong> RecordIndexes { get; } = [];

    public ulong LastSequenceOf(ulong producer) => lastSequence.GetValueOrDefault(producer);

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
