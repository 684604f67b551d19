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
        b.Apply(Record(1, 9, 1));
        b.Apply(Record(2, 5, 1));
        Assert.Equal(a.Snapshot(), b.Snapshot());
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
}
