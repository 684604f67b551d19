using System.Buffers.Binary;
using Braid.Core;
using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Simulation;

/// <summary>
/// A partition replica's state in the simulator: the real <see cref="PartitionState"/> (the same
/// dedup and ordering rules the node host applies), plus the records stored, in order, which the
/// checkers compare across replicas. Its snapshots carry both: the partition's own snapshot and
/// the record list, so the durability and exactly-once checks still see every record on a replica
/// that caught up from a snapshot.
/// </summary>
public sealed class SimStateMachine
{
    private readonly PartitionState state = new();

    /// <summary>Records stored, in apply order (after dedup).</summary>
    public List<(ulong Producer, ulong Sequence)> Records { get; } = [];

    public ulong AppliedIndex => state.AppliedIndex;

    public static byte[] Encode(ulong producer, ulong sequence) => new RecordEntry(producer, sequence, ReadOnlyMemory<byte>.Empty).Encode();

    public static (ulong Producer, ulong Sequence) Decode(ReadOnlyMemory<byte> data)
    {
        var record = RecordEntry.Decode(data);
        return (record.Producer, record.Sequence);
    }

    public ApplyOutcome Apply(CommittedEntry entry)
    {
        var outcome = state.Apply(entry);
        if (outcome == ApplyOutcome.Stored) Records.Add(Decode(entry.Data));
        return outcome;
    }

    /// <summary>[partition snapshot length][partition snapshot][record count][(producer, sequence)...].</summary>
    public byte[] Snapshot()
    {
        var partition = state.Snapshot();
        var bytes = new byte[4 + partition.Length + 4 + 16 * Records.Count];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, partition.Length);
        partition.CopyTo(bytes.AsSpan(4));
        var at = 4 + partition.Length;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), Records.Count);
        at += 4;
        foreach (var (producer, sequence) in Records)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), producer);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 8), sequence);
            at += 16;
        }
        return bytes;
    }

    public void Restore(StoredSnapshot snapshot)
    {
        var data = snapshot.Data.Span;
        var partitionBytes = BinaryPrimitives.ReadInt32LittleEndian(data);
        state.Restore(snapshot with { Data = snapshot.Data.Slice(4, partitionBytes) });
        var at = 4 + partitionBytes;
        var count = BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
        Invariant.Check(data.Length == at + 4 + 16 * count, $"simulator snapshot at {snapshot.Index}: {data.Length} bytes for {count} records");
        at += 4;
        Records.Clear();
        for (var i = 0; i < count; i++, at += 16)
            Records.Add((BinaryPrimitives.ReadUInt64LittleEndian(data[at..]), BinaryPrimitives.ReadUInt64LittleEndian(data[(at + 8)..])));
    }
}
