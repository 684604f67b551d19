using Braid.Core.Log;
using Braid.Core.Raft;
using Braid.Core.Streams;

namespace Braid.Core.Tests.Streams;

/// <summary>Dedup rules, and the snapshot that carries them across compaction and install.</summary>
public sealed class PartitionStateTests
{
    private static CommittedEntry Record(ulong index, ulong producer, ulong sequence) =>
        new(index, 1, false, new RecordEntry(producer, sequence, new byte[] { 7 }).Encode());

    [Fact]
    public void ARestoredStateRecognisesEveryEarlierRecordAsADuplicate()
    {
        var state = new PartitionState();
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(1, 10, 1)));
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(2, 20, 1)));
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(3, 10, 2)));
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(Record(4, 20, 1)));
        var snapshot = new StoredSnapshot(4, 1, state.Snapshot());

        var restored = new PartitionState();
        restored.Restore(snapshot);

        Assert.Equal((4ul, 3L, 1L, 4ul), (restored.AppliedIndex, restored.RecordCount, restored.DuplicateCount, restored.RetainedAfter));
        Assert.Empty(restored.RecordIndexes); // the records themselves went with the compacted log
        Assert.Equal(snapshot.Data.ToArray(), restored.Snapshot());
        Assert.Equal(ApplyOutcome.Duplicate, restored.Apply(Record(5, 10, 2)));
        Assert.Equal(ApplyOutcome.OutOfOrder, restored.Apply(Record(6, 20, 3)));
        Assert.Equal(ApplyOutcome.Stored, restored.Apply(Record(7, 20, 2)));
        Assert.Equal([7ul], restored.RecordIndexes);
    }

    [Fact]
    public void EqualStatesGiveEqualSnapshotsWhateverTheOrderProducersArrivedIn()
    {
        var a = new PartitionState();
        a.Apply(Record(1, 5, 1));
        a.Apply(Record(2, 9, 1));
        var b = new PartitionState();
        b.Restore(new StoredSnapshot(2, 1, a.Snapshot()));
        Assert.Equal(a.Snapshot(), b.Snapshot());
        // The same producers in another order are another state now: each producer's last index
        // is in it (for expiry). The encoding still sorts producers, so equal states match.
        var c = new PartitionState();
        c.Apply(Record(1, 9, 1));
        c.Apply(Record(2, 5, 1));
        Assert.Equal(a.Snapshot().Length, c.Snapshot().Length);
    }

    [Fact]
    public void TrimmingForgetsPositionsAtOrBelowTheIndexOnly()
    {
        var state = new PartitionState();
        for (ulong i = 1; i <= 6; i++) state.Apply(Record(i, 1, i));
        state.TrimThrough(4);
        Assert.Equal([5ul, 6ul], state.RecordIndexes);
        Assert.Equal(4ul, state.RetainedAfter);
        Assert.Equal(6L, state.RecordCount);
    }

    [Fact]
    public void ASnapshotForAnotherIndexOrWithDamagedLengthsIsRefused()
    {
        var state = new PartitionState();
        state.Apply(Record(1, 5, 1));
        var bytes = state.Snapshot();
        Assert.Throws<InvariantViolationException>(() => new PartitionState().Restore(new StoredSnapshot(2, 1, bytes)));
        Assert.Throws<InvariantViolationException>(() => new PartitionState().Restore(new StoredSnapshot(1, 1, bytes.AsMemory(0, bytes.Length - 1))));
    }

    [Fact]
    public void AProducerIdleForTheConfiguredEntriesIsForgottenAndTheTableStaysBounded()
    {
        var state = new PartitionState(producerIdleEntriesMax: 3);
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(1, 10, 1)));
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(2, 20, 1)));
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(3, 20, 2)));
        Assert.Equal((1ul, 1ul), (state.LastSequenceOf(10), state.LastIndexOf(10)));

        Assert.Equal(ApplyOutcome.Noop, state.Apply(new CommittedEntry(4, 1, true, default))); // 3 entries after 10's last
        Assert.Equal((0ul, 1, 1L), (state.LastSequenceOf(10), state.ProducerCount, state.ProducersExpired));
        Assert.Equal(ApplyOutcome.Stored, state.Apply(Record(5, 20, 3)));
        // Coming back, producer 10 is unknown: its next batch is out of order, the rule asks for 1.
        Assert.Equal(ApplyOutcome.OutOfOrder, state.Apply(Record(6, 10, 2)));

        // The table's indexes travel in the snapshot: a restored replica expires at the same entries.
        var restored = new PartitionState(producerIdleEntriesMax: 3);
        restored.Restore(new StoredSnapshot(6, 1, state.Snapshot()));
        Assert.Equal(5ul, restored.LastIndexOf(20));
        Assert.Equal(ApplyOutcome.Noop, restored.Apply(new CommittedEntry(7, 1, true, default)));
        Assert.Equal(3ul, restored.LastSequenceOf(20));
        Assert.Equal(ApplyOutcome.Noop, restored.Apply(new CommittedEntry(8, 1, true, default)));
        Assert.Equal(0, restored.ProducerCount);
    }

    [Fact]
    public void AVersionOneSnapshotIsStillRead()
    {
        var bytes = new byte[33 + 16];
        bytes[0] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), 5);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(25), 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(33), 10);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(41), 4);
        var state = new PartitionState();
        state.Restore(new StoredSnapshot(5, 1, bytes));
        Assert.Equal((4ul, 5ul), (state.LastSequenceOf(10), state.LastIndexOf(10)));
    }
}
